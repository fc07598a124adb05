import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { V1Container, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { repoRoot } from '../../../../../harness/core/paths.ts';
import type { DriverCommand, DriverConfig, DriverRecord } from './pod-driver.ts';
import type { TestNode } from './test-node.ts';

/**
 * Test side of pod-driver.ts: starts the driver inside the test node's namespace (exactly where
 * the agent runs), sends it pods and deletions, and waits on what it reports.
 */
export class PodDriver {
  readonly records: DriverRecord[] = [];
  private readonly waiters = new Set<() => void>();
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.records.push(JSON.parse(line) as DriverRecord);
      } catch {
        this.records.push({ type: 'log', at: Date.now(), line });
      }
      for (const wake of this.waiters) wake();
    });
    child.once('exit', () => {
      this.exited = true;
      for (const wake of this.waiters) wake();
    });
  }

  static async start(node: TestNode, options: { backoffBaseMs?: number; configMaps?: DriverConfig['configMaps'] } = {}): Promise<PodDriver> {
    const config: DriverConfig = {
      nodeName: 'test-node-1',
      nodeIp: node.nodeIp,
      labName: node.labName,
      stateDir: node.stateDir,
      podCidr: node.podCidr,
      podNetnsPrefix: node.podNetnsPrefix,
      repoRoot,
      backoffBaseMs: options.backoffBaseMs ?? 1000,
      ...(options.configMaps ? { configMaps: options.configMaps } : {}),
    };
    const script = fileURLToPath(new URL('./pod-driver.ts', import.meta.url));
    const child = spawn('ip', ['netns', 'exec', node.nodeNetns, process.execPath, '--import', 'tsx', script], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, KTH_LAB: node.labName, KTH_DRIVER_CONFIG: JSON.stringify(config) },
    });
    const driver = new PodDriver(child);
    await driver.waitFor('driver ready', (r) => r.type === 'ready', 20_000);
    return driver;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  send(command: DriverCommand): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  apply(pod: V1Pod): void {
    this.send({ op: 'apply', pod });
  }

  delete(pod: V1Pod, grace: number): void {
    this.send({ op: 'delete', uid: pod.metadata!.uid!, grace });
  }

  /** The first record (from `from` on) that matches. */
  async waitFor<R extends DriverRecord>(what: string, match: (r: DriverRecord) => r is R, timeoutMs?: number, from?: number): Promise<R>;
  async waitFor(what: string, match: (r: DriverRecord) => boolean, timeoutMs?: number, from?: number): Promise<DriverRecord>;
  async waitFor(what: string, match: (r: DriverRecord) => boolean, timeoutMs = 15_000, from = 0): Promise<DriverRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.records.slice(from).find(match);
      if (found) return found;
      if (this.exited) throw new Error(`pod driver exited while waiting for ${what}\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** Waits for a status of pod `uid` satisfying `match`. */
  async status(uid: string, what: string, match: (s: V1PodStatus) => boolean, timeoutMs = 15_000, from = 0): Promise<{ status: V1PodStatus; at: number }> {
    const record = await this.waitFor(what, (r) => r.type === 'status' && r.uid === uid && match(r.status), timeoutMs, from);
    return record as { status: V1PodStatus; at: number; type: 'status'; uid: string };
  }

  /** When the pod's final delete (grace 0, by the agent) reached the "API". */
  async finalDeleted(uid: string, timeoutMs = 15_000): Promise<number> {
    const record = await this.waitFor('final delete', (r) => r.type === 'finalDelete' && r.uid === uid, timeoutMs);
    return (record as Extract<DriverRecord, { type: 'finalDelete' }>).at;
  }

  latestStatus(uid: string): V1PodStatus | undefined {
    const statuses = this.records.filter((r): r is Extract<DriverRecord, { type: 'status' }> => r.type === 'status' && r.uid === uid);
    return statuses.at(-1)?.status;
  }

  events(uid: string): Extract<DriverRecord, { type: 'event' }>['event'][] {
    return this.records.filter((r): r is Extract<DriverRecord, { type: 'event' }> => r.type === 'event' && r.uid === uid).map((r) => r.event);
  }

  tail(count = 30): string {
    return this.records
      .slice(-count)
      .map((r) => (r.type === 'log' ? `log: ${r.line}` : r.type === 'status' ? `status ${r.uid.slice(0, 8)}: ${r.status.phase} ${JSON.stringify(r.status.containerStatuses?.map((c) => [c.name, c.state, c.ready, c.restartCount]))}` : JSON.stringify(r)))
      .join('\n');
  }

  async detach(): Promise<void> {
    this.send({ op: 'detach' });
    await this.waitFor('detached', (r) => r.type === 'detached', 10_000);
    await this.stopped();
  }

  async stopped(): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

export function makePod(name: string, containers: V1Container[], spec: Partial<NonNullable<V1Pod['spec']>> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: randomUUID(), labels: { app: name } },
    spec: { nodeName: 'test-node-1', restartPolicy: 'Always', terminationGracePeriodSeconds: 30, containers, ...spec },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date() }] },
  };
}

export const pidOf = (containerId: string | undefined): number => Number((containerId ?? '').replace('kth-lab://', ''));

export const condition = (status: V1PodStatus | undefined, type: string): string | undefined => status?.conditions?.find((c) => c.type === type)?.status;
