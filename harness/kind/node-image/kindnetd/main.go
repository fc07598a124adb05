// Command kindnetd is the harness's stand-in for kind's CNI daemon (sigs.k8s.io/kind/images/kindnetd,
// which the Go module proxy does not serve). It runs from kind's default-cni.yaml DaemonSet
// (hostNetwork, NET_ADMIN) and does the two things a kind cluster needs from kindnet:
//   - writes /etc/cni/net.d/10-kindnet.conflist (ptp + host-local + portmap) for the node's pod CIDRs;
//   - routes every other node's pod CIDRs via that node's InternalIP.
//
// Not done: IP masquerade of pod traffic leaving the cluster (the harness's kind networks have no
// route out) and network policy. Standard library only, so it builds with no module downloads.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

var version = "dev"

const (
	saDir       = "/var/run/secrets/kubernetes.io/serviceaccount"
	confDir     = "/etc/cni/net.d"
	confName    = "10-kindnet.conflist"
	resyncEvery = 10 * time.Second
	// Until kube-proxy has programmed the API server's Service address the first requests time
	// out; retry soon, as the node stays NotReady until the CNI config exists.
	retryEvery = 2 * time.Second
)

type node struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		PodCIDR  string   `json:"podCIDR"`
		PodCIDRs []string `json:"podCIDRs"`
	} `json:"spec"`
	Status struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
	} `json:"status"`
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Printf("kindnetd (kube-traffic-harness) %s\n", version)
		return
	}
	hostIP := os.Getenv("HOST_IP")
	if hostIP == "" {
		log.Fatal("HOST_IP is not set (the DaemonSet sets it from status.hostIP)")
	}
	log.Printf("kindnetd (kube-traffic-harness) %s: host %s, pod subnet %s", version, hostIP, os.Getenv("POD_SUBNET"))
	client, base, err := inCluster()
	if err != nil {
		log.Fatal(err)
	}
	routes := map[string]string{}
	for {
		wait := resyncEvery
		if err := sync(client, base, hostIP, routes); err != nil {
			log.Printf("sync: %v", err)
			wait = retryEvery
		}
		time.Sleep(wait)
	}
}

func inCluster() (*http.Client, string, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, "", fmt.Errorf("not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset")
	}
	ca, err := os.ReadFile(filepath.Join(saDir, "ca.crt"))
	if err != nil {
		return nil, "", err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return client, "https://" + net.JoinHostPort(host, port), nil
}

func listNodes(client *http.Client, base string) ([]node, error) {
	// The projected token rotates: read it for every request.
	token, err := os.ReadFile(filepath.Join(saDir, "token"))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/nodes", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/nodes: %s", resp.Status)
	}
	var list struct {
		Items []node `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

func sync(client *http.Client, base, hostIP string, routes map[string]string) error {
	nodes, err := listNodes(client, base)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		cidrs := n.Spec.PodCIDRs
		if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
			cidrs = []string{n.Spec.PodCIDR}
		}
		ips := internalIPs(n)
		if contains(ips, hostIP) {
			if err := writeConf(cidrs); err != nil {
				return err
			}
			continue
		}
		for _, cidr := range cidrs {
			via := sameFamily(ips, cidr)
			if via == "" || routes[cidr] == via {
				continue
			}
			if out, err := exec.Command("ip", "route", "replace", cidr, "via", via).CombinedOutput(); err != nil {
				return fmt.Errorf("ip route replace %s via %s: %v: %s", cidr, via, err, out)
			}
			routes[cidr] = via
			log.Printf("route %s via %s (node %s)", cidr, via, n.Metadata.Name)
		}
	}
	return nil
}

// writeConf writes the CNI config for this node's pod CIDRs when it differs from what is there.
func writeConf(cidrs []string) error {
	if len(cidrs) == 0 {
		return nil // the node has no pod CIDR yet; the controller manager assigns one shortly
	}
	var ranges []any
	var defaults []any
	for _, cidr := range cidrs {
		ranges = append(ranges, []any{map[string]string{"subnet": cidr}})
		if strings.Contains(cidr, ":") {
			defaults = append(defaults, map[string]string{"dst": "::/0"})
		} else {
			defaults = append(defaults, map[string]string{"dst": "0.0.0.0/0"})
		}
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "kindnet",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    mtu(),
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state",
					"routes":  defaults,
					"ranges":  ranges,
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(confDir, confName)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	log.Printf("wrote %s for %s", path, strings.Join(cidrs, ","))
	return nil
}

// mtu is the MTU of the interface holding the default route's device (eth0 in a kind node).
func mtu() int {
	for _, name := range []string{"eth0"} {
		if iface, err := net.InterfaceByName(name); err == nil && iface.MTU > 0 {
			return iface.MTU
		}
	}
	return 1500
}

func internalIPs(n node) []string {
	var ips []string
	for _, a := range n.Status.Addresses {
		if a.Type == "InternalIP" {
			ips = append(ips, a.Address)
		}
	}
	return ips
}

func sameFamily(ips []string, cidr string) string {
	v6 := strings.Contains(cidr, ":")
	for _, ip := range ips {
		if strings.Contains(ip, ":") == v6 {
			return ip
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
