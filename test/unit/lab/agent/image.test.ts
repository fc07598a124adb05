import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../../harness/core/paths.ts';
import { harnessImageDefinitions, harnessImageTarget, harnessImageTargets, resolveContainerCommand } from '../../../../harness/lab/agent/image.ts';

const context = { repoRoot: '/repo', nodeExecPath: '/usr/bin/node', harnessVersion: '0.1.0' };

describe('harnessImageTarget', () => {
  it.each([
    ['kube-traffic-harness/http-server', 'http-server'],
    ['kube-traffic-harness/http-server:0.1.0', 'http-server'],
    ['ghcr.io/x/kube-traffic-harness/grpc-server:dev', 'grpc-server'],
    ['localhost:5000/kube-traffic-harness/load-driver@sha256:' + 'a'.repeat(64), 'load-driver'],
    ['kube-traffic-harness/grpc-server-go:0.1.0', 'grpc-server-go'],
  ])('GIVEN %s THEN %s', (image, target) => expect(harnessImageTarget(image)).toBe(target));

  it.each(['nginx:1.27', 'kube-traffic-harness/other', 'evil/kube-traffic-harness-http-server', 'kube-traffic-harness/http-server/extra'])(
    'GIVEN %s THEN not a harness image',
    (image) => expect(harnessImageTarget(image)).toBeUndefined(),
  );
});

describe('resolveContainerCommand', () => {
  it('GIVEN the http-server image with args THEN node kth.mjs serve http + args, the image ENV, cwd the repo', () => {
    const result = resolveContainerCommand({ name: 'app', image: 'kube-traffic-harness/http-server:1', args: ['--port', '8081'] }, context);
    expect(result).toEqual({
      ok: true,
      command: {
        kind: 'harness',
        argv: ['/usr/bin/node', '/repo/harness/bin/kth.mjs', 'serve', 'http', '--port', '8081'],
        imageEnv: { NODE_ENV: 'production', KTH_HOST: '0.0.0.0', KTH_PORT: '8080' },
        defaultWorkingDir: '/repo',
        imageId: 'kth-lab://kube-traffic-harness/http-server@0.1.0',
      },
    });
  });
  it('GIVEN the http-server-go image THEN the Go sample server binary with http + args, the image ENV', () => {
    const result = resolveContainerCommand({ name: 'app', image: 'kube-traffic-harness/http-server-go:1', args: ['--port', '8081'] }, { ...context, goServerPath: '/cache/kth-sample-server' });
    expect(result).toMatchObject({ ok: true, command: { kind: 'harness', argv: ['/cache/kth-sample-server', 'http', '--port', '8081'], imageEnv: { KTH_HOST: '0.0.0.0', KTH_PORT: '8080' } } });
  });
  it('GIVEN a -go image on a host where the Go server is not built THEN a CreateContainerError that says to run setup', () => {
    const result = resolveContainerCommand({ name: 'app', image: 'kube-traffic-harness/grpc-server-go:1' }, context);
    expect(result).toMatchObject({ ok: false, reason: 'CreateContainerError' });
    expect(!result.ok && result.message).toMatch(/npm run setup/);
  });
  it('GIVEN a harness image with command THEN the command replaces the entrypoint (Docker rules)', () => {
    const result = resolveContainerCommand({ name: 'app', image: 'kube-traffic-harness/load-driver', command: ['sleep'], args: ['5'] }, context);
    expect(result.ok && result.command.argv).toEqual(['sleep', '5']);
  });
  it('GIVEN any other image with command and args THEN they run as given on the host', () => {
    const result = resolveContainerCommand({ name: 'py', image: 'python:3', command: ['python3', '-m', 'http.server'], args: ['8080'] }, context);
    expect(result).toMatchObject({ ok: true, command: { kind: 'host', argv: ['python3', '-m', 'http.server', '8080'], imageEnv: {}, defaultWorkingDir: undefined } });
  });
  it('GIVEN another image with neither command nor args THEN a clear CreateContainerError saying to set command', () => {
    const result = resolveContainerCommand({ name: 'web', image: 'nginx:1.27' }, context);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe('CreateContainerError');
    expect(result.message).toMatch(/nginx:1\.27/);
    expect(result.message).toMatch(/set the container's command/);
  });
});

describe('the harness images as their Dockerfile defines them', () => {
  it('GIVEN harness/workloads/image/Dockerfile WHEN read THEN every target has the ENTRYPOINT and ENV the agent maps it to', () => {
    const dockerfile = readFileSync(join(repoRoot, 'harness/workloads/image/Dockerfile'), 'utf8');
    const stages = new Map<string, string[]>();
    let current = '';
    for (const line of dockerfile.split('\n')) {
      const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(line);
      if (from) current = from[1] as string;
      stages.set(current, [...(stages.get(current) ?? []), line]);
    }
    const envOf = (stage: string) => {
      const env: Record<string, string> = {};
      for (const line of stages.get(stage) ?? []) {
        const match = /^ENV\s+(.*)$/.exec(line);
        if (match) for (const pair of (match[1] as string).trim().split(/\s+/)) env[pair.split('=')[0] as string] = pair.split('=').slice(1).join('=');
      }
      return env;
    };
    for (const target of harnessImageTargets) {
      const lines = stages.get(target) ?? [];
      const entrypoint = lines.find((l) => l.startsWith('ENTRYPOINT'));
      expect(entrypoint).toBeDefined();
      const argv = JSON.parse((entrypoint as string).replace(/^ENTRYPOINT\s+/, '')) as string[];
      const definition = harnessImageDefinitions[target];
      const program = definition.program === 'kth' ? ['node', 'harness/bin/kth.mjs'] : ['/kth-sample-server'];
      expect(argv.slice(0, program.length)).toEqual(program);
      expect(argv.slice(program.length)).toEqual(definition.entrypoint);
      expect({ ...envOf(definition.program === 'kth' ? 'app' : 'go-app'), ...envOf(target) }).toEqual(definition.env);
    }
  });
});

describe('upstream images the lab provides (Traefik)', () => {
  const withTraefik = { ...context, upstreamBinaries: { traefik: '/bin/dir/traefik' } };
  const argvOf = (container: { image: string; command?: string[]; args?: string[] }, ctx: typeof context = withTraefik) => {
    const result = resolveContainerCommand({ name: 'proxy', ...container }, ctx);
    return result.ok ? result.command.argv : result.message;
  };

  it.each([
    [{ image: 'traefik:v3.7.13', args: ['--providers.kubernetesingress', '--entryPoints.web.address=:8000'] }, ['/bin/dir/traefik', '--providers.kubernetesingress', '--entryPoints.web.address=:8000']],
    [{ image: 'docker.io/library/traefik:v3.7', args: ['version'] }, ['/bin/dir/traefik', 'version']],
    [{ image: 'traefik' }, ['/bin/dir/traefik']],
    [{ image: 'traefik:3.7.13', args: ['traefik', '--log.level=DEBUG'] }, ['/bin/dir/traefik', '--log.level=DEBUG']],
    [{ image: 'traefik:latest', command: ['/usr/local/bin/traefik'], args: ['--ping'] }, ['/bin/dir/traefik', '--ping']],
    [{ image: 'traefik:v3.7.13', command: ['sh', '-c', 'echo hi'] }, ['sh', '-c', 'echo hi']],
  ])('GIVEN %j THEN the built traefik with the arguments its entrypoint script would give it, or the host program', (container, argv) => {
    expect(argvOf(container)).toEqual(argv);
  });

  it('GIVEN a traefik image THEN its imageID names the version that runs', () => {
    const result = resolveContainerCommand({ name: 'proxy', image: 'traefik:v3.7.13' }, withTraefik);
    expect(result.ok && result.command.imageId).toBe('kth-lab://traefik@v3.7.13');
  });

  it('GIVEN another major version, or traefik not built THEN a refusal that says what to do', () => {
    expect(argvOf({ image: 'traefik:v2.11' })).toMatch(/the lab runs traefik v3\.7\.13 for 'traefik' images, and 'traefik:v2\.11' asks for another version/);
    expect(argvOf({ image: 'traefik:v3.7.13' }, context)).toMatch(/runs traefik, which is not built on this host: run npm run setup/);
  });

  it.each(['traefik/whoami:v1.10', 'evil.io/traefik:v3', 'mytraefik:v3'])('GIVEN %s THEN not the Traefik image', (image) => {
    expect(argvOf({ image, command: ['true'] })).toEqual(['true']);
  });
});

describe('upstream images the lab provides (the e2e suite\'s)', () => {
  const built = { ...context, upstreamBinaries: { agnhost: '/bin/dir/agnhost', coredns: '/bin/dir/coredns' } };
  const argvOf = (container: { image: string; command?: string[]; args?: string[] }, ctx: typeof context = built) => {
    const result = resolveContainerCommand({ name: 'c', ...container }, ctx);
    return result.ok ? result.command.argv : result.message;
  };

  it.each([
    // agnhost: ENTRYPOINT ["/agnhost"], CMD ["pause"]
    [{ image: 'registry.k8s.io/e2e-test-images/agnhost:2.63.0', args: ['netexec', '--http-port=8080'] }, ['/bin/dir/agnhost', 'netexec', '--http-port=8080']],
    [{ image: 'registry.k8s.io/e2e-test-images/agnhost:2.63.0' }, ['/bin/dir/agnhost', 'pause']],
    [{ image: 'registry.k8s.io/e2e-test-images/agnhost:2.63.0', command: ['/agnhost', 'serve-hostname'], args: ['--port', '9376'] }, ['/bin/dir/agnhost', 'serve-hostname', '--port', '9376']],
    [{ image: 'registry.k8s.io/e2e-test-images/agnhost:2.63.0', command: ['/bin/sh', '-c', 'sleep 1'] }, ['/bin/sh', '-c', 'sleep 1']],
    // pause runs as agnhost's pause; coredns: ENTRYPOINT ["/coredns"]
    [{ image: 'registry.k8s.io/pause:3.10.2' }, ['/bin/dir/agnhost', 'pause']],
    [{ image: 'registry.k8s.io/coredns/coredns:v1.14.2', args: ['-conf', '/etc/coredns/Corefile'] }, ['/bin/dir/coredns', '-conf', '/etc/coredns/Corefile']],
    // the e2e nginx image is only ever "a web server on port 80": agnhost netexec stands in
    [{ image: 'registry.k8s.io/e2e-test-images/nginx:1.15-4' }, ['/bin/dir/agnhost', 'netexec', '--http-port=80', '--udp-port=-1']],
  ])('GIVEN %j THEN %j', (container, argv) => {
    expect(argvOf(container)).toEqual(argv);
  });

  it('GIVEN an agnhost container THEN the built agnhost is also at /agnhost in it (e2e tests exec `/agnhost connect …`)', () => {
    const result = resolveContainerCommand({ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.63.0' }, built);
    expect(result.ok && result.command.imageFiles).toEqual([{ source: '/bin/dir/agnhost', target: '/agnhost' }]);
  });

  it('GIVEN another agnhost version, or agnhost not built THEN a refusal naming the version the lab has and how to build it', () => {
    expect(argvOf({ image: 'registry.k8s.io/e2e-test-images/agnhost:2.55' })).toMatch(/the lab runs agnhost 2\.63\.0 .* use agnhost:2\.63\.0/);
    expect(argvOf({ image: 'registry.k8s.io/e2e-test-images/agnhost:2.63.0' }, context)).toMatch(/setup-binaries --only e2e/);
  });

  it.each(['example.com/agnhost:2.63.0', 'registry.k8s.io/e2e-test-images/busybox:1.37.0-1'])('GIVEN %s THEN not an image the lab provides (a host program)', (image) => {
    expect(argvOf({ image, command: ['true'] })).toEqual(['true']);
  });
});
