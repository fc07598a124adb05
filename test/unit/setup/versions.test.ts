import { binDir, pinsKey } from '../../../harness/setup/binaries.ts';
import { type BuildGroup, binaryNameOf, buildGroups, effectiveGroups, groupBinaryNames, versionArgsOf } from '../../../harness/setup/versions.ts';

describe('pinned versions', () => {
  it('pins Kubernetes 1.36 and etcd 3.6, as the lab needs', () => {
    const byId = Object.fromEntries(buildGroups.map((g) => [g.id, g]));
    expect(byId.kubernetes?.version).toMatch(/^v1\.36\.\d+$/);
    expect(byId.etcd?.version).toMatch(/^v3\.6\.\d+$/);
  });

  it('names every binary after its program', () => {
    const names = buildGroups.flatMap(groupBinaryNames).sort();
    expect(names).toEqual(['actionlint', 'agnhost', 'cilium-agent', 'cilium-cni', 'cilium-dbg', 'coredns', 'e2e.test', 'etcd', 'ghz', 'k6', 'kind', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubectl', 'traefik']);
    expect(binaryNameOf('github.com/cilium/cilium/daemon')).toBe('cilium-agent');
  });

  it('GIVEN the groups built on request (e2e, coredns) THEN a plain setup leaves them out, and so does the binary directory\'s key', () => {
    expect(buildGroups.filter((g) => g.onRequest).map((g) => g.id)).toEqual(['e2e', 'coredns']);
    const env = { KTH_CACHE_DIR: '/tmp/kth-cache' };
    expect(pinsKey({ ...env, KTH_PIN_COREDNS: 'v1.99.0' })).toBe(pinsKey(env));
  });

  it('GIVEN KTH_PIN_KUBERNETES THEN the e2e suite follows it (it builds from the same module); KTH_PIN_E2E alone moves only the suite', () => {
    const e2e = (env: NodeJS.ProcessEnv) => effectiveGroups(env).find((g) => g.id === 'e2e')?.version;
    expect(e2e({ KTH_PIN_KUBERNETES: 'v1.36.9' })).toBe('v1.36.9');
    expect(e2e({ KTH_PIN_KUBERNETES: 'v1.36.9', KTH_PIN_E2E: 'v1.36.8' })).toBe('v1.36.8');
    expect(effectiveGroups({ KTH_PIN_E2E: 'v1.36.8' }).find((g) => g.id === 'kubernetes')?.version).toBe(buildGroups[0]?.version);
  });

  it('GIVEN the cilium group THEN it pins v1.20.2, builds last, and asks each binary for its version the way it answers', () => {
    const cilium = buildGroups.at(-1) as BuildGroup;
    expect(cilium.id).toBe('cilium');
    expect(cilium.version).toBe('v1.20.2');
    expect(cilium.buildTags).toEqual(['osusergo']);
    expect(versionArgsOf(cilium, 'cilium-agent')).toEqual(['--version']);
    expect(versionArgsOf(cilium, 'cilium-cni')).toEqual(['--version']);
    expect(versionArgsOf(cilium, 'cilium-dbg')).toEqual(['version']);
  });

  it('GIVEN a KTH_PIN_ override WHEN resolving THEN that group changes and the cache key with it', () => {
    const env = { KTH_CACHE_DIR: '/tmp/kth-cache' };
    const overridden = { ...env, KTH_PIN_K6: 'v1.0.0' };
    expect(effectiveGroups(overridden).find((g) => g.id === 'k6')?.version).toBe('v1.0.0');
    expect(pinsKey(overridden)).not.toBe(pinsKey(env));
    expect(binDir(env)).toBe(`/tmp/kth-cache/${pinsKey(env)}/bin`);
  });

  it('GIVEN KTH_BIN_DIR WHEN resolving THEN the user directory is used as it is', () => {
    expect(binDir({ KTH_BIN_DIR: '/opt/k8s/bin' })).toBe('/opt/k8s/bin');
  });
});
