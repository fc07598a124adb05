import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json is). */
export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Where built upstream binaries and the Go caches live: outside the repo, reused across clones. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.KTH_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kube-traffic-harness');
}

/** Runtime state of labs (pids, certificates, etcd data, logs); tmpfs, so a reboot clears it. */
export function stateRoot(): string {
  return process.env.KTH_STATE_DIR ?? '/run/kube-traffic-harness';
}
