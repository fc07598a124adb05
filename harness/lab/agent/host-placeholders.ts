import { randomBytes, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { stateRoot } from '../../core/paths.ts';

/**
 * Mount targets the lab had to create on the host.
 *
 * Lab containers see the host's / as their root, and a bind mount needs a target that exists, so
 * a terminationMessagePath the host lacks (/dev/termination-log, usually) is created as an empty
 * file, and a volume's mountPath (/var/run/secrets/kubernetes.io/serviceaccount, usually) as an
 * empty directory, with any missing parent directories. Containers only ever see their own file
 * or directory mounted on top, so the placeholder stays empty. Every labs' agents share these
 * paths, so a placeholder belongs to no single lab: each one is recorded under
 * `<state root>/host-placeholders/` (tmpfs, like the rest of the lab state), and
 * `removeHostPlaceholders` — called by `kth lab down` and `kth cleanup` once no lab is left —
 * deletes a placeholder only if it is still an empty regular file (a directory only if empty), so
 * nothing someone else has put there is touched. Records
 * carry the kernel's boot id: an agent in a qemu guest creates its placeholders in the guest's
 * own root, which must never lead to removing a host file of the same name.
 */
export interface PlaceholderRecord {
  path: string;
  kind: 'file' | 'dir';
  bootId: string;
  lab: string;
  createdAt: string;
}

export const placeholdersDir = (): string => join(stateRoot(), 'host-placeholders');

let cachedBootId: string | undefined;
function bootId(): string {
  cachedBootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return cachedBootId;
}

async function record(entry: Omit<PlaceholderRecord, 'bootId' | 'createdAt'>): Promise<void> {
  const dir = placeholdersDir();
  await mkdir(dir, { recursive: true });
  const full: PlaceholderRecord = { ...entry, bootId: bootId(), createdAt: new Date().toISOString() };
  const name = `${createHash('sha256').update(`${full.bootId}\0${full.path}`).digest('hex').slice(0, 16)}-${randomBytes(4).toString('hex')}.json`;
  await writeFile(join(dir, `${name}.tmp`), JSON.stringify(full));
  await rename(join(dir, `${name}.tmp`), join(dir, name));
}

const exists = async (path: string) => (await stat(path).catch(() => undefined)) !== undefined;

/**
 * Makes sure `target` can be bind-mounted on by a `kind` (a file, or a directory): returns at once
 * when it exists as that kind (the other kind is an error: neither can be mounted on the other),
 * else creates it — parents first — recording what it created. Creation is exclusive, so of two
 * agents racing for a path exactly one records it. `field` names the path in errors.
 */
export async function ensureMountTarget(target: string, lab: string, kind: 'file' | 'dir' = 'file', field = 'terminationMessagePath'): Promise<void> {
  if (!isAbsolute(target)) throw new Error(`${field} ${target} is not an absolute path`);
  const path = normalize(target);
  const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (found) {
    if (kind === 'file' && found.isDirectory()) throw new Error(`${field} ${path} is a directory on the lab's host; a file cannot be mounted on it`);
    if (kind === 'dir' && !found.isDirectory()) throw new Error(`${field} ${path} is a file on the lab's host; a directory cannot be mounted on it`);
    return;
  }
  const missing: string[] = [];
  for (let dir = dirname(path); dir !== dirname(dir) && !(await exists(dir)); dir = dirname(dir)) missing.unshift(dir);
  for (const dir of missing) {
    try {
      await mkdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue; // made by someone else meanwhile
      throw error;
    }
    await record({ path: dir, kind: 'dir', lab });
  }
  if (kind === 'dir') {
    try {
      await mkdir(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw error;
    }
    await recordOrTakeBack(path, 'dir', lab);
    return;
  }
  let handle;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  await handle.close();
  await recordOrTakeBack(path, 'file', lab);
}

async function recordOrTakeBack(path: string, kind: 'file' | 'dir', lab: string): Promise<void> {
  try {
    await record({ path, kind, lab });
  } catch (error) {
    // Untracked, it would stay on the host for good: take it back and fail the start.
    await (kind === 'file' ? unlink(path) : rmdir(path)).catch(() => {});
    throw error;
  }
}

/** Every record, torn or foreign ones included (those are dropped by the removal). */
async function readRecords(): Promise<{ file: string; entry: PlaceholderRecord | undefined }[]> {
  let names: string[];
  try {
    names = await readdir(placeholdersDir());
  } catch {
    return [];
  }
  const found: { file: string; entry: PlaceholderRecord | undefined }[] = [];
  for (const name of names) {
    const file = join(placeholdersDir(), name);
    try {
      found.push({ file, entry: name.endsWith('.json') ? (JSON.parse(await readFile(file, 'utf8')) as PlaceholderRecord) : undefined });
    } catch {
      found.push({ file, entry: undefined });
    }
  }
  return found;
}

/**
 * Removes every recorded placeholder that is still as the lab left it. Call only when no lab is
 * running (a running container may have its message file mounted on one). Returns the paths removed.
 */
export async function removeHostPlaceholders(): Promise<string[]> {
  const records = await readRecords();
  const removed: string[] = [];
  const current = bootId();
  const ours = records.filter((r) => r.entry?.bootId === current).map((r) => r.entry as PlaceholderRecord);
  for (const entry of ours.filter((e) => e.kind === 'file')) {
    const info = await lstat(entry.path).catch(() => undefined);
    if (info?.isFile() && info.size === 0 && (await unlink(entry.path).then(() => true, () => false))) removed.push(entry.path);
  }
  // Deepest directories first; rmdir refuses non-empty ones, which then stay.
  for (const entry of ours.filter((e) => e.kind === 'dir').sort((a, b) => b.path.length - a.path.length)) {
    const info = await lstat(entry.path).catch(() => undefined);
    if (info?.isDirectory() && (await rmdir(entry.path).then(() => true, () => false))) removed.push(entry.path);
  }
  for (const { file } of records) await rm(file, { force: true });
  return removed;
}

/** The recorded placeholders of this kernel (for tests and `kth doctor`-style reports). */
export async function listHostPlaceholders(): Promise<PlaceholderRecord[]> {
  const current = bootId();
  return (await readRecords()).flatMap((r) => (r.entry?.bootId === current ? [r.entry] : []));
}
