import type { V1Pod } from '@kubernetes/client-node';
import { podHostname } from '../../../../harness/lab/agent/names.ts';
import { podResolvConf } from '../../../../harness/lab/agent/pod-dns.ts';
import { containerArgv, mountWrapperScript } from '../../../../harness/lab/agent/process.ts';

const dns = { server: '198.18.16.10', domain: 'cluster.local' };
const pod = (spec: V1Pod['spec'] = { containers: [] }, name = 'web-1'): V1Pod => ({ metadata: { namespace: 'shop', name }, spec });

describe('podResolvConf (the kubelet\'s dnsPolicy)', () => {
  it('GIVEN ClusterFirst (the default) THEN the cluster DNS, the namespace search path and ndots:5', () => {
    expect(podResolvConf(pod(), dns)).toBe('search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 198.18.16.10\noptions ndots:5\n');
  });
  it('GIVEN no cluster DNS, dnsPolicy Default, or a hostNetwork pod with ClusterFirst THEN the node\'s own resolv.conf', () => {
    expect(podResolvConf(pod(), undefined)).toBeUndefined();
    expect(podResolvConf(pod({ containers: [], dnsPolicy: 'Default' }), dns)).toBeUndefined();
    expect(podResolvConf(pod({ containers: [], hostNetwork: true }), dns)).toBeUndefined();
  });
  it('GIVEN ClusterFirstWithHostNet on the host network THEN the cluster DNS', () => {
    expect(podResolvConf(pod({ containers: [], hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), dns)).toContain('nameserver 198.18.16.10\n');
  });
  it('GIVEN dnsConfig THEN merged: extra servers and searches appended, options overriding by name', () => {
    const text = podResolvConf(pod({ containers: [], dnsConfig: { nameservers: ['1.2.3.4'], searches: ['corp.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }), dns);
    expect(text).toBe('search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 198.18.16.10\nnameserver 1.2.3.4\noptions ndots:2 edns0\n');
  });
  it('GIVEN dnsPolicy None THEN only dnsConfig', () => {
    expect(podResolvConf(pod({ containers: [], dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'] } }), dns)).toBe('nameserver 1.2.3.4\n');
  });
});

describe('podHostname', () => {
  it('GIVEN a pod THEN its name, or spec.hostname; cut to 63 characters without a trailing dash; hostNetwork: the node\'s', () => {
    expect(podHostname(pod(), 'node-1')).toBe('web-1');
    expect(podHostname(pod({ containers: [], hostname: 'db' }), 'node-1')).toBe('db');
    expect(podHostname(pod(undefined, `${'a'.repeat(62)}-b`), 'node-1')).toBe('a'.repeat(62));
    expect(podHostname(pod({ containers: [], hostNetwork: true }), 'node-1')).toBe('node-1');
  });
});

describe('containerArgv with a hostname (a UTS namespace per container)', () => {
  const tool = (name: string) => `/usr/bin/${name}`;
  it('GIVEN a pod namespace and a hostname THEN ip netns exec, unshare --uts, the wrapper sets the hostname before exec', () => {
    const argv = containerArgv({ podNetns: 'ns1', env: {}, hostname: 'web-1' }, '/p', ['a'], tool);
    expect(argv.slice(0, 9)).toEqual(['ip', 'netns', 'exec', 'ns1', '/usr/bin/unshare', '--uts', '/usr/bin/sh', '-c', mountWrapperScript({}, 'web-1')]);
    expect(argv.slice(9)).toEqual(['/usr/bin/mount', '--', '/p', 'a']);
    expect(mountWrapperScript({}, 'web-1')).toMatch(/^printf %s 'web-1' > \/proc\/sys\/kernel\/hostname \|\|/);
  });
  it('GIVEN the host network with mounts THEN one unshare for the mount and UTS namespaces', () => {
    const argv = containerArgv({ podNetns: undefined, env: {}, hostname: 'node-1', mounts: [{ source: '/f', target: '/t' }] }, '/p', [], tool);
    expect(argv.slice(0, 5)).toEqual(['/usr/bin/unshare', '--mount', '--propagation', 'slave', '--uts']);
  });
});
