package httpserver

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"kth-sample-server/internal/identity"
)

func startTest(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Host, cfg.Pod = "127.0.0.1", identity.Pod{Pod: "p", Node: "n", PodIP: "10.0.0.1", Namespace: "ns"}
	cfg.H2C, cfg.Drain, cfg.DrainTimeout = true, true, time.Second
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	return s
}

func get(t *testing.T, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestIdentityOverHTTP1AndH2C(t *testing.T) {
	s := startTest(t, Config{KeepAliveTimeout: 5 * time.Second, ResponseBytes: 3})
	url := "http://127.0.0.1:" + strconv.Itoa(s.Port)

	h1 := &http.Client{Transport: &http.Transport{}}
	for seq := 1; seq <= 2; seq++ {
		resp, body := get(t, h1, url+"/hello?x=1")
		var who map[string]any
		if err := json.Unmarshal([]byte(body), &who); err != nil {
			t.Fatal(err)
		}
		if who["connectionId"] != "p/1" || who["sequence"] != float64(seq) || who["protocol"] != "http/1.1" || who["path"] != "/hello" || who["payload"] != "xxx" {
			t.Errorf("body %s", body)
		}
		if resp.Header.Get("x-kth-sequence") != strconv.Itoa(seq) || resp.Header.Get("Keep-Alive") != "timeout=5" || resp.Header.Get("x-kth-pod-ip") != "10.0.0.1" {
			t.Errorf("headers %v", resp.Header)
		}
	}
	if !strings.HasPrefix(body(t, h1, url+"/healthz"), "ok") {
		t.Error("healthz")
	}

	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: protocols}}
	resp, text := get(t, h2, url+"/h2")
	if resp.ProtoMajor != 2 || !strings.Contains(text, `"connectionId":"p/2","sequence":1,"protocol":"h2"`) {
		t.Errorf("h2: %s %s", resp.Proto, text)
	}
	metrics := body(t, h1, url+"/metrics")
	for _, want := range []string{
		"kth_http_requests_total 3\n",
		`kth_http_connections_total{protocol="http/1.1"} 1` + "\n",
		`kth_http_connections_total{protocol="h2"} 1` + "\n",
		"kth_http_control_requests_total 2\n",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func body(t *testing.T, client *http.Client, url string) string {
	_, b := get(t, client, url)
	return b
}

func TestMaxRequestsClosesWithHeader(t *testing.T) {
	s := startTest(t, Config{MaxRequestsPerConnection: 2})
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	all, err := io.ReadAll(conn) // the server ends the connection after the 2nd answer
	if err != nil {
		t.Fatal(err)
	}
	text := string(all)
	if strings.Count(text, "HTTP/1.1 200 OK") != 2 || !strings.Contains(text, "x-kth-closing: max-requests") || !strings.Contains(text, "Connection: close") {
		t.Errorf("responses:\n%s", text)
	}
}

func TestDrainFinishesInFlight(t *testing.T) {
	s := startTest(t, Config{})
	url := "http://127.0.0.1:" + strconv.Itoa(s.Port)
	type answer struct {
		resp *http.Response
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := http.Get(url + "/slow?delay_ms=300")
		if err == nil {
			_, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- answer{resp, err}
	}()
	deadline := time.Now().Add(2 * time.Second)
	for s.counters.inFlight.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	result := s.Shutdown()
	a := <-done
	if a.err != nil || a.resp.Header.Get("x-kth-closing") != "draining" || !a.resp.Close {
		t.Fatalf("in-flight answer: %v %v", a.err, a.resp)
	}
	if !result.Drained || result.Forced != 0 {
		t.Errorf("result %+v", result)
	}
	if _, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.Port), time.Second); err == nil {
		t.Error("still accepting after shutdown")
	}
}
