import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { IntOrString, V1ContainerPort, V1ExecAction, V1GRPCAction, V1HTTPGetAction, V1LifecycleHandler, V1Probe, V1TCPSocketAction } from '@kubernetes/client-node';
import { service as healthService } from 'grpc-health-check';
import { run } from '../../core/exec.ts';
import { KUBERNETES_VERSION } from '../../setup/versions.ts';

/**
 * The actions probes and lifecycle hooks perform, run the way the kubelet runs them: httpGet,
 * tcpSocket and grpc from the node's network namespace (the agent's own) to the pod's IP, with a
 * fresh connection every time (the kubelet's prober disables keep-alive); exec inside the pod's
 * network namespace with the container's environment.
 */
export interface HandlerTarget {
  podIp: string;
  /** Where exec actions run; undefined: the agent's own namespace (hostNetwork pods). */
  podNetns: string | undefined;
  /**
   * The container's main process: exec actions then join its mount and network namespaces and
   * its working directory (as a runtime's exec does), so they see its termination-message file as
   * it does, not the host's placeholder.
   */
  containerPid?: number;
  env: Readonly<Record<string, string>>;
  containerPorts: readonly V1ContainerPort[];
}

export interface HandlerOutcome {
  ok: boolean;
  /** What happened, worded like the kubelet's probe output ("HTTP probe failed with statuscode: 503"). */
  output: string;
}

const [major, minor] = KUBERNETES_VERSION.replace(/^v/, '').split('.');
export const probeUserAgent = `kube-probe/${major}.${minor}`;

export function resolvePort(port: IntOrString | undefined, ports: readonly V1ContainerPort[]): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return ports.find((p) => p.name === port)?.containerPort;
}

export async function httpGetAction(action: V1HTTPGetAction, target: HandlerTarget, timeoutMs: number, checkStatus: boolean): Promise<HandlerOutcome> {
  const port = resolvePort(action.port, target.containerPorts);
  if (!port) return { ok: false, output: `unable to resolve port ${String(action.port)}` };
  const host = action.host || target.podIp;
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  const path = action.path ? (action.path.startsWith('/') ? action.path : `/${action.path}`) : '/';
  const url = `${scheme}://${host}:${port}${path}`;
  const headers: Record<string, string> = { 'User-Agent': probeUserAgent, Accept: '*/*', Connection: 'close' };
  for (const header of action.httpHeaders ?? []) headers[header.name] = header.value;
  return new Promise<HandlerOutcome>((resolveOutcome) => {
    let settled = false;
    const finish = (outcome: HandlerOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolveOutcome(outcome);
    };
    const req = (scheme === 'https' ? httpsRequest : httpRequest)(
      { host, port, path, method: 'GET', headers, agent: false, ...(scheme === 'https' ? { rejectUnauthorized: false } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < 10 * 1024) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const body = Buffer.concat(chunks).toString('utf8').slice(0, 10 * 1024);
          if (!checkStatus || (status >= 200 && status < 400)) finish({ ok: true, output: body });
          else finish({ ok: false, output: `HTTP probe failed with statuscode: ${status}` });
        });
        res.on('error', (error) => finish({ ok: false, output: `Get "${url}": ${error.message}` }));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish({ ok: false, output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => finish({ ok: false, output: `Get "${url}": ${dialError(host, port, error)}` }));
    req.end();
  });
}

function dialError(host: string, port: number, error: NodeJS.ErrnoException): string {
  if (error.code === 'ECONNREFUSED') return `dial tcp ${host}:${port}: connect: connection refused`;
  if (error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') return `dial tcp ${host}:${port}: connect: no route to host`;
  return error.message;
}

export async function tcpSocketAction(action: V1TCPSocketAction, target: HandlerTarget, timeoutMs: number): Promise<HandlerOutcome> {
  const port = resolvePort(action.port, target.containerPorts);
  if (!port) return { ok: false, output: `unable to resolve port ${String(action.port)}` };
  const host = action.host || target.podIp;
  return new Promise<HandlerOutcome>((resolveOutcome) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolveOutcome({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolveOutcome({ ok: true, output: '' });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolveOutcome({ ok: false, output: dialError(host, port, error) });
    });
  });
}

const HealthClient = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');

export async function grpcAction(action: V1GRPCAction, target: HandlerTarget, timeoutMs: number): Promise<HandlerOutcome> {
  const address = `${target.podIp}:${action.port}`;
  const client = new HealthClient(address, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0 }) as unknown as {
    check(request: { service: string }, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: { status: string | number }) => void): void;
    close(): void;
  };
  try {
    return await new Promise<HandlerOutcome>((resolveOutcome) => {
      client.check({ service: action.service ?? '' }, { deadline: Date.now() + timeoutMs }, (error, response) => {
        if (error) {
          const output =
            error.code === grpc.status.DEADLINE_EXCEEDED
              ? `timeout: health rpc did not complete within ${timeoutMs / 1000}s`
              : error.code === grpc.status.UNAVAILABLE
                ? `timeout: failed to connect service "${address}" within ${timeoutMs / 1000}s: ${error.details}`
                : `error: health rpc probe failed: ${error.message}`;
          resolveOutcome({ ok: false, output });
          return;
        }
        const status = response?.status;
        if (status === 'SERVING' || status === 1) resolveOutcome({ ok: true, output: 'status: SERVING' });
        else resolveOutcome({ ok: false, output: `service unhealthy (responded with "${String(status)}")` });
      });
    });
  } finally {
    client.close();
  }
}

/** A command in a running container's mount, network and UTS namespaces and working directory, as a runtime's exec runs it. */
export function inContainer(containerPid: number, command: readonly string[]): string[] {
  return ['nsenter', `--target=${containerPid}`, '--mount', '--net', '--uts', '--wd', '--', ...command];
}

export async function execAction(action: V1ExecAction, target: HandlerTarget, timeoutMs: number): Promise<HandlerOutcome> {
  const command = action.command ?? [];
  if (command.length === 0) return { ok: false, output: 'exec: no command' };
  const argv = target.containerPid
    ? inContainer(target.containerPid, command)
    : target.podNetns
      ? ['ip', 'netns', 'exec', target.podNetns, ...command]
      : command;
  const result = await run(argv, { env: { ...target.env }, timeoutMs, nothrow: true });
  const output = `${result.stdout}${result.stderr}`.slice(0, 10 * 1024);
  if (result.exitCode === 0) return { ok: true, output };
  if (result.durationMs >= timeoutMs) return { ok: false, output: `command timed out after ${timeoutMs / 1000}s` };
  return { ok: false, output: output.trim() || `command exited with ${result.exitCode}` };
}

/** One probe attempt, bounded by the probe's timeoutSeconds. */
export async function runProbe(probe: V1Probe, target: HandlerTarget): Promise<HandlerOutcome> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) return httpGetAction(probe.httpGet, target, timeoutMs, true);
  if (probe.tcpSocket) return tcpSocketAction(probe.tcpSocket, target, timeoutMs);
  if (probe.grpc) return grpcAction(probe.grpc, target, timeoutMs);
  if (probe.exec) return execAction(probe.exec, target, timeoutMs);
  return { ok: false, output: 'probe has no handler (httpGet, tcpSocket, grpc or exec)' };
}

/**
 * Runs a lifecycle hook (postStart / preStop) within `budgetMs` (for preStop: the grace period).
 * HTTP hooks succeed on any response, as the kubelet's do; only failing to get one is an error.
 */
export async function runLifecycleHandler(handler: V1LifecycleHandler, target: HandlerTarget, budgetMs: number, signal?: AbortSignal): Promise<HandlerOutcome> {
  if (handler.sleep) {
    const ms = Math.min(Math.max(0, handler.sleep.seconds) * 1000, budgetMs);
    await abortableSleep(ms, signal);
    return { ok: true, output: '' };
  }
  if (handler.exec) return execAction(handler.exec, target, budgetMs);
  if (handler.httpGet) return httpGetAction(handler.httpGet, target, budgetMs, false);
  if ((handler as { tcpSocket?: unknown }).tcpSocket) return { ok: true, output: 'tcpSocket hooks are deprecated and do nothing (as in the kubelet)' };
  return { ok: false, output: 'hook has no handler (exec, httpGet or sleep)' };
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolveSleep) => {
    if (signal?.aborted || ms <= 0) {
      resolveSleep();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolveSleep();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
