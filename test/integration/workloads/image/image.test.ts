import { jest } from '@jest/globals';
import type { Readable } from 'node:stream';
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';
import { run } from '../../../../harness/core/exec.ts';
import { buildImages, type BuiltImages } from '../../../../harness/workloads/image/build.ts';
import { IdentityHeader } from '../../../../harness/workloads/identity.ts';
import { type DockerEngine, ensureDockerEngine } from '../../../support/docker.ts';

// No registry can be reached: Ryuk (testcontainers' reaper image) cannot be pulled, so each test
// removes its own container instead. The engine may run without a bridge network (containers use
// host networking), where testcontainers cannot look up a gateway: the host is this machine.
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';

jest.setTimeout(600_000);

let engine: DockerEngine;
let built: BuiltImages;
beforeAll(async () => {
  engine = await ensureDockerEngine();
  built = await buildImages({ tag: 'it', targets: ['http-server', 'grpc-server', 'http-server-go', 'grpc-server-go'] });
});
afterAll(async () => {
  // The test tags go; the base image stays as the cache buildBaseImage() reuses.
  for (const ref of Object.values(built?.images ?? {})) await run(['docker', 'rmi', ref], { nothrow: true });
  await engine?.stop();
});

/** The `listening on host:port` line the server prints at startup, read from the container's log. */
async function listeningPort(container: StartedTestContainer): Promise<number> {
  const logs = (await container.logs()) as Readable;
  try {
    let text = '';
    for await (const chunk of logs) {
      text += String(chunk);
      const match = /listening on [^\s]+:(\d+)/.exec(text);
      if (match) return Number(match[1]);
    }
  } finally {
    logs.destroy();
  }
  throw new Error('container log ended before the listening line');
}

describe('sample server images', () => {
  it('GIVEN the images built from the local base WHEN inspected THEN they exist under their contract names', () => {
    expect(built.baseImage).toBe(`kube-traffic-harness/node-base:${process.versions.node}`);
    expect(built.images).toEqual({
      'http-server': 'kube-traffic-harness/http-server:it',
      'grpc-server': 'kube-traffic-harness/grpc-server:it',
      'http-server-go': 'kube-traffic-harness/http-server-go:it',
      'grpc-server-go': 'kube-traffic-harness/grpc-server-go:it',
    });
  });

  it('GIVEN the Go images WHEN inspected THEN they hold only the static binary (no base image) and answer as sleep for exec preStop hooks', async () => {
    const size = await run(['docker', 'image', 'inspect', '--format', '{{.Size}}', built.images['http-server-go'] as string]);
    expect(Number(size.stdout.trim())).toBeLessThan(2 * 40 * 1024 * 1024);
    const slept = await run(['docker', 'run', '--rm', '--network', 'none', '--entrypoint', '/bin/sleep', built.images['http-server-go'] as string, '0.1']);
    expect(slept.exitCode).toBe(0);
  });

  it.each(['http-server', 'http-server-go'] as const)('GIVEN the %s image run with downward-API env WHEN requested THEN it serves that identity, and stops with exit 0', async (target) => {
    const container = await new GenericContainer(built.images[target] as string)
      .withNetworkMode('host')
      .withEnvironment({ POD_NAME: 'web-abc12', NODE_NAME: 'kind-worker', POD_IP: '10.244.1.5', POD_NAMESPACE: 'kth-it', KTH_HOST: '127.0.0.1', KTH_PORT: '0' })
      .withWaitStrategy(Wait.forLogMessage(/listening on/))
      .withStartupTimeout(60_000)
      .start();
    try {
      const port = await listeningPort(container);
      const response = await fetch(`http://127.0.0.1:${port}/who`, { headers: { connection: 'close' } });
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.headers.get(IdentityHeader.pod)).toBe('web-abc12');
      expect(body).toMatchObject({ pod: 'web-abc12', node: 'kind-worker', podIp: '10.244.1.5', namespace: 'kth-it', peerAddress: '127.0.0.1', sequence: 1 });
      expect((await fetch(`http://127.0.0.1:${port}/readyz`, { headers: { connection: 'close' } })).status).toBe(200);
    } finally {
      // Stopped but kept for a moment, to read how the server ended (docker stop sends SIGTERM).
      await container.stop({ timeout: 20_000, remove: false });
      const exitCode = await run(['docker', 'inspect', '--format', '{{.State.ExitCode}}', container.getId()]).finally(() =>
        run(['docker', 'rm', '--force', container.getId()], { nothrow: true }),
      );
      expect(exitCode.stdout.trim()).toBe('0');
    }
  });

  it.each(['grpc-server', 'grpc-server-go'] as const)('GIVEN the %s image WHEN started THEN its metrics side port answers', async (target) => {
    const container = await new GenericContainer(built.images[target] as string)
      .withNetworkMode('host')
      .withCommand(['--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--pod-name', 'grpc-abc'])
      .withWaitStrategy(Wait.forLogMessage(/listening on/))
      .withStartupTimeout(60_000)
      .start();
    try {
      const logs = (await container.logs()) as Readable;
      let text = '';
      for await (const chunk of logs) {
        text += String(chunk);
        if (/metrics on \S+:\d+/.test(text)) break;
      }
      logs.destroy();
      const metricsPort = Number(/metrics on \S+:(\d+)/.exec(text)?.[1]);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { connection: 'close' } })).text();
      expect(metrics).toContain('kth_grpc_rpcs_total');
    } finally {
      await container.stop({ timeout: 20_000 });
    }
  });

  it('GIVEN kth existing images --prefix WHEN run THEN every image is tagged under the prefix, as --image-prefix names them on a cluster', async () => {
    const result = await run([process.execPath, 'harness/bin/kth.mjs', 'existing', 'images', '--prefix', 'registry.example/team', '--tag', 'it'], { nothrow: true });
    expect(result.exitCode).toBe(0);
    const refs = result.stdout.split('\n').filter((line) => line.startsWith('registry.example/team/'));
    try {
      expect(refs).toEqual(['http-server', 'grpc-server', 'load-driver', 'http-server-go', 'grpc-server-go'].map((target) => `registry.example/team/kube-traffic-harness/${target}:it`));
      for (const ref of refs) expect((await run(['docker', 'image', 'inspect', ref], { nothrow: true })).exitCode).toBe(0);
    } finally {
      for (const ref of refs) await run(['docker', 'rmi', ref], { nothrow: true });
      await run(['docker', 'rmi', 'kube-traffic-harness/load-driver:it'], { nothrow: true });
    }
  });
});
