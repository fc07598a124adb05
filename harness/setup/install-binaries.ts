import { existsSync } from 'node:fs';
import { chmod, copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { formatMs } from '../core/duration.ts';
import { environmentError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { cacheRoot } from '../core/paths.ts';
import { binDir, type InstalledVersion, isExecutable, pinsKey, readInstalledVersions } from './binaries.ts';
import { buildGoGroup, pinnedModuleDir } from './go-module-build.ts';
import { type BuildGroup, effectiveGroups, groupBinaryNames, type ModuleAsset, versionArgsOf } from './versions.ts';

export interface InstallOptions {
  /** Only these groups (default: all but the on-request ones). */
  only?: readonly BuildGroup['id'][];
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface InstallResult {
  binDir: string;
  built: string[];
  reused: string[];
  versions: InstalledVersion[];
}

/**
 * Makes every pinned binary present and runnable: reuses what a previous setup built (verified by
 * running it), hard-links a group another pin set's directory holds at the same module@version,
 * builds the rest group by group, records versions in `<bin>/versions.json`, and copies each
 * group's run-time assets from the module (recorded in `<bin>/assets.json`).
 * A failing group stops the install, but everything built before it stays.
 */
export async function installBinaries(options: InstallOptions = {}): Promise<InstallResult> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dir = binDir(env);
  const groups = effectiveGroups(env).filter((g) => (options.only ? options.only.includes(g.id) : !g.onRequest));
  const result: InstallResult = { binDir: dir, built: [], reused: [], versions: readInstalledVersions(env) };

  if (env.KTH_BIN_DIR) {
    // The user brings their own binaries: verify, never build into their directory.
    for (const group of groups) {
      for (const name of groupBinaryNames(group)) await verifyBinary(join(dir, name), group, env);
      for (const asset of group.assets ?? []) await verifyUserAsset(dir, group, asset);
    }
    log(`[setup] using binaries from KTH_BIN_DIR=${dir}`);
    return result;
  }

  await mkdir(dir, { recursive: true });
  const recordVersion = async (record: InstalledVersion) => {
    result.versions = [...result.versions.filter((v) => v.binary !== record.binary), record];
    await writeFile(join(dir, 'versions.json'), `${JSON.stringify(result.versions, null, 2)}\n`);
  };
  for (const [index, group] of groups.entries()) {
    const label = `[setup ${index + 1}/${groups.length}] ${group.id} ${group.version}`;
    const names = groupBinaryNames(group);
    const recorded = names.map((name) => result.versions.find((v) => v.binary === name));
    if (recorded.every((v) => v && v.module === group.module && v.version === group.version && isExecutable(join(dir, v.binary)))) {
      await Promise.all(names.map((name) => verifyBinary(join(dir, name), group)));
      log(`${label}: present (${names.join(', ')})`);
      result.reused.push(...names);
      await installAssets(group, dir, env, log, label);
      continue;
    }
    const sibling = await siblingInstall(group, names, env);
    if (sibling) {
      for (const record of sibling.records) {
        const target = join(dir, record.binary);
        const staged = join(dir, `.linking-${record.binary}`);
        await rm(staged, { force: true });
        await link(join(sibling.dir, record.binary), staged).catch(async () => {
          await copyFile(join(sibling.dir, record.binary), staged);
          await chmod(staged, 0o755);
        });
        const reported = await verifyBinary(staged, group);
        await rename(staged, target);
        await recordVersion({ ...record, reported });
      }
      log(`${label}: present in ${sibling.dir}, linked here (${names.join(', ')})`);
      result.reused.push(...names);
      await installAssets(group, dir, env, log, label);
      continue;
    }
    log(`${label}: building ${names.join(', ')} for the ${group.purpose} (first build takes minutes on 2 cores)`);
    const started = Date.now();
    let compiled = 0;
    const heartbeat = setInterval(() => log(`${label}: still building, ${compiled} packages compiled, ${formatMs(Date.now() - started)}`), 20_000);
    const staging = join(dir, `.building-${group.id}`);
    try {
      await rm(staging, { recursive: true, force: true });
      const built = await buildGoGroup({
        group,
        workDir: groupWorkDir(group, env),
        outDir: staging,
        onPackage: () => {
          compiled += 1;
        },
      });
      for (const path of built) {
        const name = path.split('/').at(-1) as string;
        const reported = await verifyBinary(path, group);
        await rename(path, join(dir, name));
        await recordVersion({ binary: name, module: group.module, version: group.version, reported, builtAt: new Date().toISOString() });
      }
      result.built.push(...names);
      log(`${label}: built in ${formatMs(Date.now() - started)} (${compiled} packages compiled)`);
    } finally {
      clearInterval(heartbeat);
      await rm(staging, { recursive: true, force: true });
    }
    await installAssets(group, dir, env, log, label);
  }
  log(`[setup] binaries in ${dir} (${pinsKey(env)})`);
  return result;
}

function groupWorkDir(group: BuildGroup, env: NodeJS.ProcessEnv): string {
  return join(cacheRoot(env), 'src', `${group.id}-${group.version}`);
}

/**
 * Another pin set's binary directory (`<cache>/<pinsKey>/bin`) that holds every binary of this
 * group at the same module@version: a pin change elsewhere, or a newly added group, then costs a
 * hard link instead of a rebuild. Only binaries setup recorded there count, never stray files.
 */
async function siblingInstall(group: BuildGroup, names: string[], env: NodeJS.ProcessEnv): Promise<{ dir: string; records: InstalledVersion[] } | undefined> {
  const root = cacheRoot(env);
  const own = binDir(env);
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return undefined;
  }
  const candidates: { dir: string; records: InstalledVersion[]; builtAt: string }[] = [];
  for (const entry of entries) {
    const dir = join(root, entry, 'bin');
    if (dir === own) continue;
    let versions: InstalledVersion[];
    try {
      versions = JSON.parse(await readFile(join(dir, 'versions.json'), 'utf8')) as InstalledVersion[];
    } catch {
      continue;
    }
    const records = names.map((name) => versions.find((v) => v.binary === name && v.module === group.module && v.version === group.version));
    if (records.every((r): r is InstalledVersion => r !== undefined && isExecutable(join(dir, r.binary)))) {
      candidates.push({ dir, records, builtAt: records.map((r) => r.builtAt).sort().at(-1) ?? '' });
    }
  }
  return candidates.sort((a, b) => b.builtAt.localeCompare(a.builtAt))[0];
}

interface InstalledAsset {
  /** Directory relative to the binary directory. */
  to: string;
  /** `module@version/from`. */
  source: string;
  files: number;
  installedAt: string;
}

/**
 * Copies the group's assets out of the (read-only) module cache into the binary directory, unless
 * assets.json says this exact module@version is already there. Each asset lands whole or not at all
 * (copied aside, then renamed into place).
 */
async function installAssets(group: BuildGroup, dir: string, env: NodeJS.ProcessEnv, log: (line: string) => void, label: string): Promise<void> {
  if (!group.assets?.length) return;
  const recordsPath = join(dir, 'assets.json');
  let records: InstalledAsset[] = [];
  try {
    records = JSON.parse(await readFile(recordsPath, 'utf8')) as InstalledAsset[];
  } catch {
    records = [];
  }
  const sourceOf = (asset: ModuleAsset) => `${group.module}@${group.version}/${asset.from}`;
  const stale = group.assets.filter((asset) => !(records.some((r) => r.to === asset.to && r.source === sourceOf(asset)) && existsSync(join(dir, asset.to))));
  if (stale.length === 0) return;
  const moduleDir = await pinnedModuleDir(group, groupWorkDir(group, env));
  for (const asset of stale) {
    const from = join(moduleDir, asset.from);
    if (!existsSync(from)) {
      throw environmentError(`${group.module}@${group.version} has no ${asset.from}/ (needed at ${join(dir, asset.to)})`, {
        where: `harness/setup/versions.ts: ${group.id} assets`,
        hint: 'the module layout changed at this version: fix the asset paths in harness/setup/versions.ts',
      });
    }
    const target = join(dir, asset.to);
    const staged = join(dir, `.asset-${asset.to.replaceAll('/', '_')}`);
    await rm(staged, { recursive: true, force: true });
    const files = await copyTree(from, staged, asset.extension);
    await mkdir(dirname(target), { recursive: true });
    await rm(target, { recursive: true, force: true });
    await rename(staged, target);
    records = [...records.filter((r) => r.to !== asset.to), { to: asset.to, source: sourceOf(asset), files, installedAt: new Date().toISOString() }];
    await writeFile(recordsPath, `${JSON.stringify(records, null, 2)}\n`);
    log(`${label}: ${asset.to}/ (${files} files from ${sourceOf(asset)})`);
  }
}

/** Plain copies (module cache files are read-only): 0755 for executables, 0644 otherwise. Returns the file count. */
async function copyTree(from: string, to: string, extension: string | undefined): Promise<number> {
  await mkdir(to, { recursive: true });
  let count = 0;
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      count += await copyTree(source, target, extension);
    } else if (entry.isFile() && (!extension || entry.name.endsWith(extension))) {
      await copyFile(source, target);
      await chmod(target, (await stat(source)).mode & 0o111 ? 0o755 : 0o644);
      count += 1;
    }
  }
  return count;
}

async function verifyUserAsset(dir: string, group: BuildGroup, asset: ModuleAsset): Promise<void> {
  const target = join(dir, asset.to);
  const entries = await readdir(target).catch(() => [] as string[]);
  if (entries.some((name) => !asset.extension || name.endsWith(asset.extension))) return;
  throw environmentError(`${target} is missing or empty`, {
    where: `${group.id} ${group.version}`,
    hint: `copy the ${asset.from}/ directory of ${group.module}@${group.version} there${asset.extension ? ` (its *${asset.extension} files)` : ''}, or unset KTH_BIN_DIR and run: npm run setup`,
  });
}

/** Runs the binary's version command; a binary that cannot say its version is not installed. */
export async function verifyBinary(path: string, group: BuildGroup, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (!isExecutable(path)) {
    throw environmentError(`${path} is missing or not executable`, {
      where: `${group.id} ${group.version}`,
      hint: env.KTH_BIN_DIR ? `put it in KTH_BIN_DIR, or unset KTH_BIN_DIR and run: npm run setup` : 'run: npm run setup',
    });
  }
  // A staged binary (.linking-<name>) answers to its final name's arguments.
  const args = versionArgsOf(group, basename(path).replace(/^\.linking-/, ''));
  const output = await run([path, ...args], { timeoutMs: 30_000, nothrow: true });
  const text = `${output.stdout}\n${output.stderr}`.trim();
  if (output.exitCode !== 0) {
    throw environmentError(`${path} ${args.join(' ')} exited ${output.exitCode}: ${text.split('\n')[0] ?? ''}`, {
      where: `${group.id} ${group.version}`,
      hint: `delete it and run: npm run setup`,
    });
  }
  return (text.split('\n').find((line) => line.trim() !== '') ?? '').trim();
}

/** The versions table as recorded (for `kth doctor` and reports). */
export async function recordedVersions(env: NodeJS.ProcessEnv = process.env): Promise<InstalledVersion[]> {
  try {
    return JSON.parse(await readFile(join(binDir(env), 'versions.json'), 'utf8')) as InstalledVersion[];
  } catch {
    return [];
  }
}
