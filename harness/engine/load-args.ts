import type { LoadSpec } from './types.ts';
import { toMs } from '../core/duration.ts';

/** A load as the engine runs it: durations already scaled, the target and pods known. */
export interface LoadRun {
  spec: LoadSpec;
  startMs: number;
  durationMs: number;
  target: string;
  /** Pod names that should get traffic (pods never reached show up with 0). */
  expectPods: readonly string[];
  eventsFile: string;
  /** node → address of every node: external loads count cross-node hops with them. */
  nodeAddresses?: Readonly<Record<string, string>>;
}

const seconds = (ms: number) => `${Math.max(0.001, ms / 1000).toFixed(3)}s`;

/**
 * The `kth load` argv (after `load`) that runs one scenario load; `--json` prints its run.
 * --time-scale shortens the timeline only: the settings under test (idle timeout, max connection
 * age, keepalive) keep their values, since they are weighed against real propagation delays.
 */
export function loadArgv(run: LoadRun): string[] {
  const { spec } = run;
  const setting = (value: LoadSpec['idleTimeout'], where: string) => seconds(toMs(value!, where));
  if (spec.driver === 'k6') {
    // The real k6: one VU per connection (gRPC: per channel), as many as the load's connections.
    const k6 = ['k6', '--target', run.target, '--duration', seconds(run.durationMs), '--json', '--events', run.eventsFile, '--model', spec.model ?? 'persistent', '--vus', String(spec.connections)];
    if (spec.protocol === 'grpc') k6.push('--protocol', 'grpc');
    if (spec.script) k6.push('--script', spec.script);
    k6.push(...(spec.executor === 'constant-vus' ? ['--concurrency', String(spec.vus)] : ['--rate', String(spec.rate)]));
    if (spec.unit) k6.push('--unit', spec.unit);
    if (run.expectPods.length > 0) k6.push('--expect-pods', run.expectPods.join(','));
    return k6;
  }
  const argv = [spec.protocol, '--target', run.target, '--duration', seconds(run.durationMs), '--json', '--events', run.eventsFile];
  argv.push(spec.protocol === 'http' ? '--connections' : '--channels', String(spec.connections));
  if (spec.protocol === 'http') argv.push('--model', spec.model ?? 'persistent');
  else argv.push('--call', spec.call ?? 'unary', ...(spec.client ? ['--client', spec.client] : []));
  if (spec.executor === 'constant-vus') argv.push('--concurrency', String(spec.vus));
  else argv.push('--rate', String(spec.rate));
  if (spec.idleTimeout !== undefined) argv.push('--idle-timeout', setting(spec.idleTimeout, `load ${spec.name}: idleTimeout`));
  if (spec.maxConnectionAge !== undefined) argv.push('--max-connection-age', setting(spec.maxConnectionAge, `load ${spec.name}: maxConnectionAge`));
  if (spec.keepalive !== undefined) argv.push('--keepalive', setting(spec.keepalive, `load ${spec.name}: keepalive`));
  if (spec.unit) argv.push('--unit', spec.unit);
  if (run.expectPods.length > 0) argv.push('--expect-pods', run.expectPods.join(','));
  // Through the Ingress the source address a pod saw is the controller replica's: record it, to credit each replica.
  if (spec.via === 'ingress') argv.push('--by-peer');
  // Hops are counted from the source address the pod saw: through the Ingress that is the controller's, never a node's.
  if (run.nodeAddresses && spec.from === 'external' && spec.via !== 'ingress') argv.push('--node-addresses', Object.entries(run.nodeAddresses).map(([node, ip]) => `${node}=${ip}`).join(','));
  return argv;
}
