import { join } from 'node:path';
import { stateRoot } from '../core/paths.ts';

/** Where one lab keeps its files: `<state root>/labs/<name>/…` (tmpfs, so a reboot clears it). */
export function labLayout(lab: string) {
  const dir = join(stateRoot(), 'labs', lab);
  return {
    dir,
    spec: join(dir, 'lab.json'),
    status: join(dir, 'status.json'),
    pki: join(dir, 'pki'),
    /** For people and tools on the host: server is the host end of the point-to-point link. */
    kubeconfig: join(dir, 'kubeconfig'),
    /** For components inside the lab: server is the API server's bridge address. */
    internalKubeconfig: join(dir, 'kubeconfig.internal'),
    etcdData: join(dir, 'etcd'),
    logs: join(dir, 'logs'),
    log: (component: string) => join(dir, 'logs', `${component}.log`),
    pids: join(dir, 'pids'),
    pid: (component: string) => join(dir, 'pids', `${component}.pid`),
    config: (file: string) => join(dir, 'config', file),
    node: (nodeName: string) => join(dir, 'nodes', nodeName),
  };
}

export function labsDir(): string {
  return join(stateRoot(), 'labs');
}

export type LabLayout = ReturnType<typeof labLayout>;
