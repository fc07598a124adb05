import { supportMatrix } from '../../../harness/setup/doctor.ts';
import { type Capability, cgroup2MountPoint, ciliumKernelCapabilities, ciliumKernelOptions, parseClangVersion } from '../../../harness/setup/host-capabilities.ts';

describe('clang version', () => {
  it('GIVEN the banners of Debian, Ubuntu, upstream and Apple clang WHEN parsed THEN major.minor.patch come out', () => {
    expect(parseClangVersion('Debian clang version 19.1.7 (3~deb12u1)\nTarget: x86_64-pc-linux-gnu\n')).toEqual({ major: 19, minor: 1, patch: 7 });
    expect(parseClangVersion('Ubuntu clang version 18.1.3 (1ubuntu1)')).toEqual({ major: 18, minor: 1, patch: 3 });
    expect(parseClangVersion('clang version 20.1.0 (https://github.com/llvm/llvm-project 24a30daaa559)')).toEqual({ major: 20, minor: 1, patch: 0 });
    expect(parseClangVersion('Apple clang version 15.0.0 (clang-1500.1.0.2.5)')).toEqual({ major: 15, minor: 0, patch: 0 });
  });

  it('GIVEN output that is not a clang banner WHEN parsed THEN there is no version', () => {
    expect(parseClangVersion('gcc (Debian 12.2.0-14) 12.2.0')).toBeUndefined();
    expect(parseClangVersion('')).toBeUndefined();
  });
});

describe('cgroup2 mount', () => {
  it('GIVEN a hybrid host (cgroup v1 controllers, cgroup2 at unified) WHEN read THEN the cgroup2 mount point is found', () => {
    const mounts = [
      'tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0',
      'cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0',
      'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0',
    ].join('\n');
    expect(cgroup2MountPoint(mounts)).toBe('/sys/fs/cgroup/unified');
  });

  it('GIVEN only cgroup v1 mounts WHEN read THEN there is none', () => {
    expect(cgroup2MountPoint('cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n')).toBeUndefined();
  });
});

describe("Cilium's kernel options", () => {
  const all = () => new Map<string, string>([...ciliumKernelOptions.map((k) => [k, 'y'] as [string, string]), ['CONFIG_SCHEDSTATS', 'y']]);

  it('GIVEN every base option built in or as a module WHEN checked THEN both rows are available', () => {
    const config = all();
    config.set('CONFIG_NET_SCH_INGRESS', 'm');
    const [required, schedstats] = ciliumKernelCapabilities(config);
    expect(required?.available).toBe(true);
    expect(schedstats).toMatchObject({ name: 'CONFIG_SCHEDSTATS', available: true, detail: 'set' });
  });

  it('GIVEN a kernel without CGROUP_BPF WHEN checked THEN the required row is unavailable and names it', () => {
    const config = all();
    config.delete('CONFIG_CGROUP_BPF');
    const [required] = ciliumKernelCapabilities(config);
    expect(required?.available).toBe(false);
    expect(required?.detail).toContain('CONFIG_CGROUP_BPF');
    expect(required?.detail).not.toContain('CONFIG_BPF_JIT');
  });

  it('GIVEN a kernel without SCHEDSTATS (this host) WHEN checked THEN that is reported, as optional, without blocking', () => {
    const config = all();
    config.delete('CONFIG_SCHEDSTATS');
    const [required, schedstats] = ciliumKernelCapabilities(config);
    expect(required?.available).toBe(true);
    expect(schedstats?.available).toBe(true);
    expect(schedstats?.detail).toMatch(/optional.*clock probe/);
  });
});

describe('doctor matrix: lab × cilium', () => {
  const names = [
    'root',
    'netns',
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'kube-proxy',
    'cilium-agent',
    'cilium-cni',
    'cilium-dbg',
    'cilium assets',
    'clang',
    'eBPF',
    'bpffs',
    'cgroup2',
    'cilium kernel config',
  ];
  const rows = (overrides: Record<string, Partial<Capability>> = {}): Capability[] =>
    names.map((name) => ({ name, available: true, detail: 'ok', ...overrides[name] }));
  const ciliumCell = (capabilities: Capability[]) => supportMatrix(capabilities, []).find((c) => c.provider === 'lab' && c.proxyMode === 'cilium');

  it('GIVEN everything the mode needs WHEN the matrix is built THEN lab × cilium runs here and says how', () => {
    expect(ciliumCell(rows())).toEqual({
      provider: 'lab',
      proxyMode: 'cilium',
      available: true,
      detail: 'cilium-agent (kube-proxy replacement) in each node namespace, pods attached by cilium-cni',
    });
  });

  it('GIVEN no kube-proxy binary WHEN the matrix is built THEN lab × cilium still runs (the agent replaces it)', () => {
    expect(ciliumCell(rows({ 'kube-proxy': { available: false, detail: 'not built' } }))?.available).toBe(true);
  });

  it('GIVEN a clang that is too old and no cgroup2 mount WHEN the matrix is built THEN the cell names both with their fixes', () => {
    const cell = ciliumCell(
      rows({
        clang: { available: false, detail: 'clang 16.0.6 is too old', fix: 'apt-get install clang-19 llvm-19' },
        cgroup2: { available: false, detail: 'nothing mounts it', fix: 'mount -t cgroup2 none /sys/fs/cgroup/unified' },
      }),
    );
    expect(cell?.available).toBe(false);
    expect(cell?.detail).toBe('clang: clang 16.0.6 is too old (fix: apt-get install clang-19 llvm-19); cgroup2: nothing mounts it (fix: mount -t cgroup2 none /sys/fs/cgroup/unified)');
  });

  it('GIVEN a row nobody checked WHEN the matrix is built THEN the cell is not claimed available', () => {
    const cell = ciliumCell(rows().filter((r) => r.name !== 'cilium-dbg'));
    expect(cell?.available).toBe(false);
    expect(cell?.detail).toBe('cilium-dbg: not checked');
  });
});
