import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { environmentError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { binaryPath, readInstalledVersions } from '../../setup/binaries.ts';
import { buildGoGroup } from '../../setup/go-module-build.ts';
import { type BinaryName, type BuildGroup, binaryNameOf } from '../../setup/versions.ts';
import { nodeImageCacheDir } from './cache.ts';
import { type NodeBuildGroup, VERSION_ARGS } from './components.ts';
import { type Log, shortHash, step } from './steps.ts';

export interface BuiltBinary {
  name: string;
  path: string;
  /** module@version, or the source the harness built it from. */
  source: string;
  /** First line the program printed when asked for its version. */
  reported: string;
}

interface CacheRecord {
  binaries: BuiltBinary[];
}

/**
 * One group's binaries, from `<cache>/go/<id>-<version>-<hash of the group>/` when a previous build
 * left them there, else built with setup's buildGoGroup. The directory name covers every input that
 * changes the output (module, version, packages, tags, ldflags, env), so a changed pin builds only
 * its own group, and Go's build cache makes even that mostly a relink.
 */
export async function goGroupBinaries(group: NodeBuildGroup, log: Log): Promise<BuiltBinary[]> {
  const root = nodeImageCacheDir();
  const dir = join(root, 'go', `${group.id}-${group.version}-${shortHash(JSON.stringify(group))}`);
  const recordPath = join(dir, 'binaries.json');
  const names = group.packages.map(binaryNameOf);
  if (existsSync(recordPath)) {
    const record = JSON.parse(await readFile(recordPath, 'utf8')) as CacheRecord;
    if (names.every((n) => existsSync(join(dir, n)))) {
      log(`[node-image] go ${group.id} ${group.version}: cached (${names.join(', ')})`);
      return record.binaries;
    }
  }
  return await step(log, `go build ${group.id} ${group.version} (${names.join(', ')})`, async () => {
    const staging = `${dir}.building`;
    await rm(staging, { recursive: true, force: true });
    // One source work dir per group and pin: the wrapper module is kept for a rerun by hand.
    const workDir = join(root, 'src', `${group.id}-${group.version}`);
    const { env, ...buildGroup } = group;
    await buildGoGroup({ group: buildGroup as unknown as BuildGroup, workDir, outDir: staging, ...(env ? { env } : {}) });
    const binaries: BuiltBinary[] = [];
    for (const name of names) {
      binaries.push({ name, path: join(dir, name), source: `${group.module}@${group.version}`, reported: await versionOf(join(staging, name), VERSION_ARGS[name] ?? group.versionArgs) });
    }
    await writeFile(join(staging, 'binaries.json'), `${JSON.stringify({ binaries }, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(root, 'go'), { recursive: true });
    await rename(staging, dir);
    return binaries;
  }, 60_000);
}

/**
 * The program's first output line when asked its version, with the next one when the first is only
 * a heading ("containerd-shim-runc-v2:"). Exit status ignored: CNI plugins exit 1.
 */
export async function versionOf(path: string, args: readonly string[]): Promise<string> {
  const result = await run([path, ...args], { nothrow: true, timeoutMs: 20_000, env: { CNI_COMMAND: undefined } });
  const [first = '', second = ''] = `${result.stdout}\n${result.stderr}`.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return first.endsWith(':') ? `${first} ${second}` : first;
}

/**
 * A group setup already built at the same pin (`kth setup-binaries`: the lab's control plane,
 * kube-proxy, etcd), taken from setup's bin dir as it is: built once, run by the lab and the image.
 */
export function setupGroupBinaries(group: BuildGroup, log: Log): BuiltBinary[] {
  const installed = readInstalledVersions();
  const binaries = group.packages.map((pkg) => binaryNameOf(pkg) as BinaryName).map((name) => {
    const record = installed.find((v) => v.binary === name);
    if (!record || record.module !== group.module || record.version !== group.version || !existsSync(binaryPath(name))) {
      throw environmentError(`the node image carries setup's ${name} (${group.module}@${group.version}), and setup's bin dir has ${record ? `${record.module}@${record.version}` : 'none'}`, {
        where: binaryPath(name),
        hint: 'run npm run setup (kth setup-binaries) first',
      });
    }
    return { name, path: binaryPath(name), source: `${group.module}@${group.version} (setup's build, also the lab's)`, reported: record.reported };
  });
  log(`[node-image] ${group.id} ${group.version}: setup's build (${binaries.map((b) => b.name).join(', ')})`);
  return binaries;
}
