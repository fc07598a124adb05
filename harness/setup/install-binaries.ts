import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatMs } from '../core/duration.ts';
import { run } from '../core/exec.ts';
import { cacheRoot } from '../core/paths.ts';
import { binDir, type InstalledVersion, isExecutable, pinsKey, readInstalledVersions } from './binaries.ts';
import { buildGoGroup } from './go-module-build.ts';
import { type BuildGroup, binaryNameOf, effectiveGroups } from './versions.ts';
import { environmentError } from '../core/errors.ts';

export interface InstallOptions {
  /** Only these groups (default: all). */
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
 * running it), builds the rest group by group, and records versions in `<bin>/versions.json`.
 * A failing group stops the install, but everything built before it stays.
 */
export async function installBinaries(options: InstallOptions = {}): Promise<InstallResult> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dir = binDir(env);
  const groups = effectiveGroups(env).filter((g) => !options.only || options.only.includes(g.id));
  const result: InstallResult = { binDir: dir, built: [], reused: [], versions: readInstalledVersions(env) };

  if (env.KTH_BIN_DIR) {
    // The user brings their own binaries: verify, never build into their directory.
    for (const group of groups) for (const pkg of group.packages) await verifyBinary(join(dir, binaryNameOf(pkg)), group, env);
    log(`[setup] using binaries from KTH_BIN_DIR=${dir}`);
    return result;
  }

  await mkdir(dir, { recursive: true });
  for (const [index, group] of groups.entries()) {
    const label = `[setup ${index + 1}/${groups.length}] ${group.id} ${group.version}`;
    const names = group.packages.map(binaryNameOf);
    const recorded = names.map((name) => result.versions.find((v) => v.binary === name));
    if (recorded.every((v) => v && v.module === group.module && v.version === group.version && isExecutable(join(dir, v.binary)))) {
      await Promise.all(names.map((name) => verifyBinary(join(dir, name), group)));
      log(`${label}: present (${names.join(', ')})`);
      result.reused.push(...names);
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
        workDir: join(cacheRoot(env), 'src', `${group.id}-${group.version}`),
        outDir: staging,
        onPackage: () => {
          compiled += 1;
        },
      });
      for (const path of built) {
        const name = path.split('/').at(-1) as string;
        const reported = await verifyBinary(path, group);
        await rename(path, join(dir, name));
        result.versions = [
          ...result.versions.filter((v) => v.binary !== name),
          { binary: name, module: group.module, version: group.version, reported, builtAt: new Date().toISOString() },
        ];
        await writeFile(join(dir, 'versions.json'), `${JSON.stringify(result.versions, null, 2)}\n`);
      }
      result.built.push(...names);
      log(`${label}: built in ${formatMs(Date.now() - started)} (${compiled} packages compiled)`);
    } finally {
      clearInterval(heartbeat);
      await rm(staging, { recursive: true, force: true });
    }
  }
  log(`[setup] binaries in ${dir} (${pinsKey(env)})`);
  return result;
}

/** Runs the binary's version command; a binary that cannot say its version is not installed. */
export async function verifyBinary(path: string, group: BuildGroup, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (!isExecutable(path)) {
    throw environmentError(`${path} is missing or not executable`, {
      where: `${group.id} ${group.version}`,
      hint: env.KTH_BIN_DIR ? `put it in KTH_BIN_DIR, or unset KTH_BIN_DIR and run: npm run setup` : 'run: npm run setup',
    });
  }
  const output = await run([path, ...group.versionArgs], { timeoutMs: 30_000, nothrow: true });
  const text = `${output.stdout}\n${output.stderr}`.trim();
  if (output.exitCode !== 0) {
    throw environmentError(`${path} ${group.versionArgs.join(' ')} exited ${output.exitCode}: ${text.split('\n')[0] ?? ''}`, {
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
