import { describe, expect, it, jest } from '@jest/globals';
import net from 'node:net';
import { serverRuntimes } from '../../../../harness/workloads/runtime.ts';
import { badSettingVectors, badUsageVectors, exitCodes, portInUseVectors } from '../../../support/contract-vectors.ts';
import { runSampleServer, spawnSampleServer, startSampleServer } from '../../../support/sample-server-process.ts';
import { testTimeoutMs } from './contract-helpers.ts';

jest.setTimeout(testTimeoutMs);

/** Loopback and free ports, unless the vector sets that flag itself. */
function baseArgs(kind: 'http' | 'grpc', args: string[]): string[] {
  const base: Array<[string, string]> = [
    ['--host', '127.0.0.1'],
    ['--port', '0'],
    ...(kind === 'grpc' ? ([['--metrics-port', '0']] as Array<[string, string]>) : []),
  ];
  return [...base.filter(([flag]) => !args.includes(flag)).flat(), ...args];
}

describe.each(serverRuntimes)('contract, settings and startup [%s]', (runtime) => {
  it.each(badSettingVectors.map((vector) => [`${vector.kind}: ${vector.name}`, vector] as const))(
    'GIVEN a bad setting (%s) WHEN started THEN it exits 2 naming the setting, its env var and its flag, and never listens',
    async (_name, vector) => {
      const result = await runSampleServer(runtime, vector.kind, baseArgs(vector.kind, vector.args ?? []), vector.env ?? {});
      expect({ code: result.code, timedOut: result.timedOut }).toEqual({ code: exitCodes.badInput, timedOut: false });
      expect(result.stdout).not.toContain('listening on');
      for (const mention of vector.mentions) expect(result.stderr).toContain(mention);
      // The shared wording: the first problem follows `error: `, every problem is a line of its own.
      const lines = result.stderr.split('\n').map((line) => line.replace(/^error: /, ''));
      for (const problem of vector.problems) expect(lines).toContain(problem);
      expect(result.stderr.startsWith('error: ')).toBe(true);
    },
  );

  it.each(badUsageVectors.map((vector) => [`${vector.kind}: ${vector.name}`, vector] as const))(
    'GIVEN a usage mistake (%s) WHEN started THEN it exits 2 naming it',
    async (_name, vector) => {
      const result = await runSampleServer(runtime, vector.kind, baseArgs(vector.kind, vector.args));
      expect(result.code).toBe(exitCodes.badInput);
      for (const mention of vector.mentions) expect(result.stderr).toContain(mention);
    },
  );

  it.each(portInUseVectors.map((vector) => [`${vector.kind} --${vector.busy}`, vector] as const))(
    'GIVEN a port already in use (%s) WHEN started THEN it exits 2 naming the address, the flag and the env var',
    async (_name, vector) => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const { port } = blocker.address() as net.AddressInfo;
      try {
        const result = await runSampleServer(runtime, vector.kind, baseArgs(vector.kind, [`--${vector.busy}`, String(port)]));
        expect(result.code).toBe(exitCodes.badInput);
        expect(result.stderr).toContain(`error: ${vector.label}: 127.0.0.1:${port} is already in use\n`);
        for (const mention of vector.mentions) expect(result.stderr).toContain(mention);
      } finally {
        blocker.close();
      }
    },
  );

  it('GIVEN --port 0 WHEN started THEN the first stdout line names the chosen addresses exactly (gRPC with its metrics port), and nothing else is printed', async () => {
    await using http = await startSampleServer(runtime, 'http', []);
    expect(http.listeningLine).toBe(`kth serve http listening on 127.0.0.1:${http.port}`);
    await using grpc = await startSampleServer(runtime, 'grpc', []);
    expect(grpc.listeningLine).toBe(`kth serve grpc listening on 127.0.0.1:${grpc.port} metrics on 127.0.0.1:${grpc.metricsPort}`);
    expect(grpc.metricsPort).not.toBe(grpc.port);
    expect([http.port, grpc.port, grpc.metricsPort].every((port) => port > 0)).toBe(true);
    expect([http.stdout(), grpc.stdout()]).toEqual([`${http.listeningLine}\n`, `${grpc.listeningLine}\n`]);
  });

  it('GIVEN KTH_HOST and KTH_PORT in the env WHEN started without flags THEN it listens there', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await using child = spawnSampleServer(runtime, 'http', [], { KTH_HOST: '127.0.0.1', KTH_PORT: String(port) });
    const deadline = performance.now() + 15_000;
    while (!child.stdout().includes('\n') && !child.done && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(child.stdout()).toBe(`kth serve http listening on 127.0.0.1:${port}\n`);
  });
});
