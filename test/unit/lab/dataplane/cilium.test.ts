import { readFileSync } from 'node:fs';
import { ciliumAgentArgs, ciliumStatusFacts } from '../../../../harness/lab/dataplane/cilium.ts';
import { dataplaneFor } from '../../../../harness/lab/dataplane/index.ts';
import { ciliumOptionsSchema, defaultCiliumOptions, labSpecSchema } from '../../../../harness/lab/spec.ts';
import { cniResultIp } from '../../../../harness/lab/agent/pod-attach.ts';

const flag = (args: string[], name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=');

describe('the lab data planes', () => {
  it('GIVEN each lab proxy mode WHEN its data plane is chosen THEN kube-proxy modes run kube-proxy and cilium runs the Cilium binaries', () => {
    expect(dataplaneFor('iptables').binaries).toEqual(['kube-proxy']);
    expect(dataplaneFor('nftables').mode).toBe('nftables');
    expect(dataplaneFor('cilium').binaries).toEqual(['cilium-agent', 'cilium-cni', 'cilium-dbg']);
  });

  it('GIVEN the default Cilium options WHEN the agent flags are made THEN they are a kube-proxy-free install: KPR on, socket LB host-only, Kubernetes IPAM, CRD identities, native routing, no Envoy/Hubble', () => {
    const args = ciliumAgentArgs({ internalKubeconfig: '/lab/kubeconfig.internal' }, defaultCiliumOptions);
    expect(flag(args, 'kube-proxy-replacement')).toBe('true');
    expect(flag(args, 'bpf-lb-sock-hostns-only')).toBe('true');
    expect(flag(args, 'bpf-lb-algorithm')).toBe('random');
    expect(flag(args, 'bpf-lb-mode')).toBe('snat');
    expect(flag(args, 'ipam')).toBe('kubernetes');
    expect(flag(args, 'identity-allocation-mode')).toBe('crd');
    expect(flag(args, 'routing-mode')).toBe('native');
    expect(flag(args, 'ipv4-native-routing-cidr')).toBe('198.18.128.0/17');
    expect(flag(args, 'enable-l7-proxy')).toBe('false');
    expect(flag(args, 'enable-hubble')).toBe('false');
    expect(flag(args, 'k8s-kubeconfig-path')).toBe('/lab/kubeconfig.internal');
    expect(flag(args, 'cgroup-root')).toBe('/run/cilium/cgroupv2');
  });

  it('GIVEN compared options WHEN the flags are made THEN socket LB for pods, Maglev and DSR reach the agent', () => {
    const args = ciliumAgentArgs({ internalKubeconfig: 'k' }, { socketLb: 'all', lbAlgorithm: 'maglev', nodePortMode: 'dsr' });
    expect(flag(args, 'bpf-lb-sock-hostns-only')).toBe('false');
    expect(flag(args, 'bpf-lb-algorithm')).toBe('maglev');
    expect(flag(args, 'bpf-lb-mode')).toBe('dsr');
  });

  it('GIVEN an unknown option value WHEN the options are parsed THEN they are refused, and a lab spec accepts cilium mode', () => {
    expect(ciliumOptionsSchema.safeParse({ lbAlgorithm: 'round-robin' }).success).toBe(false);
    expect(ciliumOptionsSchema.safeParse({ socketlb: 'all' }).success).toBe(false);
    const spec = labSpecSchema.parse({ name: 'a', nodes: 3, proxyMode: 'cilium', slot: 0, createdAt: 'now', repoRoot: '/r', kubernetesVersion: 'v1', cilium: defaultCiliumOptions });
    expect(spec.cilium?.socketLb).toBe('hostns-only');
  });
});

describe('what a cilium run records', () => {
  it('GIVEN `cilium-dbg status -o json` of a lab agent (captured) WHEN read THEN the version and the kernel-side features it enabled come out', () => {
    const status = JSON.parse(readFileSync(new URL('./cilium-status.json', import.meta.url), 'utf8')) as Parameters<typeof ciliumStatusFacts>[0];
    expect(ciliumStatusFacts(status)).toEqual({
      version: '1.20.2',
      features: {
        kubeProxyReplacement: 'True', socketLB: true, socketLBHostnsOnly: true, nodePort: true, nodePortMode: 'SNAT', lbAlgorithm: 'Random',
        xdpAcceleration: 'Disabled', hostPort: true, sessionAffinity: true, attachMode: 'tcx', deviceMode: 'veth', routing: 'Native (host: BPF)', masquerading: false,
      },
    });
  });
});

describe('CNI results', () => {
  it('GIVEN a 0.3.1 result from cilium-cni WHEN read THEN the pod IP is its IPv4 address without the prefix', () => {
    const stdout = JSON.stringify({ cniVersion: '0.3.1', interfaces: [{ name: 'eth0' }], ips: [{ version: '4', address: '198.18.129.17/32', gateway: '198.18.129.1', interface: 0 }] });
    expect(cniResultIp(stdout)).toBe('198.18.129.17');
  });

  it('GIVEN a result without an IPv4 address or not JSON WHEN read THEN the error quotes it', () => {
    expect(() => cniResultIp(JSON.stringify({ ips: [{ address: 'fd00::5/128' }] }))).toThrow(/no IPv4 address.*fd00/);
    expect(() => cniResultIp('plugin crashed')).toThrow(/no JSON result: plugin crashed/);
  });
});
