import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { environmentError, HarnessError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { prepareSubstitutes } from './module-substitutes.ts';
import { type BuildGroup, binaryNameOf, buildGroups, testBinaryNameOf } from './versions.ts';

/**
 * Builds one pinned group of main packages with the ordinary `go` client, through a small wrapper
 * module. The wrapper is what makes k8s.io/kubernetes buildable as a dependency: its go.mod points
 * every k8s.io/* staging module at ./staging, which only works inside its own repository, so the
 * wrapper replaces each of them with the published v0.x.y of the same release.
 */
export interface GoBuildOptions {
  group: BuildGroup;
  /** Directory for the wrapper module (kept, so a failed build can be rerun by hand). */
  workDir: string;
  /** Directory the binaries are written to. */
  outDir: string;
  /** Called with each package `go build -v` compiles, for progress. */
  onPackage?: (pkg: string) => void;
  /**
   * Settings over the default Go environment for `go mod tidy` and `go build` (e.g. CGO_ENABLED=1
   * for a program that links a C library). Changing them invalidates the Go build cache for the group.
   */
  env?: Readonly<Record<string, string>>;
}

export async function buildGoGroup({ group, workDir, outDir, onPackage, env }: GoBuildOptions): Promise<string[]> {
  await mkdir(workDir, { recursive: true });
  await mkdir(outDir, { recursive: true });
  const { goMod } = await downloadPinnedModule(group, workDir);
  const substitutes = await prepareSubstitutes(group, workDir, async (module, version) => (await downloadModule(group, workDir, module, version)).dir);
  const replaces = [...(group.replaces ?? []), ...substitutes, ...(group.module === 'k8s.io/kubernetes' ? stagingReplaces(group, goMod) : [])];
  await writeFile(join(workDir, 'go.mod'), wrapperGoMod(group, replaces));
  await writeFile(join(workDir, 'tools.go'), toolsFile([...group.packages, ...(group.testPackages ?? [])]));
  await rm(join(workDir, 'go.sum'), { force: true });
  const stepEnv = { ...goEnv, ...env };
  await goStep(group, workDir, ['go', 'mod', 'tidy'], 'resolve dependencies', undefined, stepEnv);
  await goStep(group, workDir, goBuildArgv(group, outDir), 'compile', onPackage, stepEnv);
  // go names a binary after its package path's last element, skipping a major-version suffix
  // (go.etcd.io/etcd/server/v3 → server); the harness names it after the program (etcd).
  const paths: string[] = [];
  for (const pkg of group.packages) {
    const target = join(outDir, binaryNameOf(pkg));
    const produced = join(outDir, goDefaultBinaryName(pkg));
    if (produced !== target) await rename(produced, target);
    paths.push(target);
  }
  for (const pkg of group.testPackages ?? []) {
    const target = join(outDir, testBinaryNameOf(pkg));
    await goStep(group, workDir, goTestBinaryArgv(group, pkg, target), `compile the tests of ${pkg}`, onPackage, stepEnv);
    paths.push(target);
  }
  return paths;
}

function goDefaultBinaryName(pkg: string): string {
  const parts = pkg.split('/');
  const last = parts.at(-1) as string;
  return /^v\d+$/.test(last) && parts.length > 1 ? (parts.at(-2) as string) : last;
}

/**
 * Fetches exactly the pinned module first, so a pin the proxy does not have fails here, at a step
 * whose only possible meaning is "this version is not available", whatever the proxy answered.
 * Returns the module's own go.mod.
 */
async function downloadPinnedModule(group: BuildGroup, workDir: string): Promise<{ goMod: string; dir: string }> {
  return downloadModule(group, workDir, group.module, group.version);
}

async function downloadModule(group: BuildGroup, workDir: string, module: string, version: string): Promise<{ goMod: string; dir: string }> {
  await mkdir(workDir, { recursive: true });
  const argv = ['go', 'mod', 'download', '-json', `${module}@${version}`];
  const result = await run(argv, { cwd: workDir, env: goEnv, nothrow: true });
  const info = (() => {
    try {
      return JSON.parse(result.stdout) as { GoMod?: string; Dir?: string; Error?: string };
    } catch {
      return {};
    }
  })();
  const pinned = module === group.module;
  if (result.exitCode !== 0 || !info.GoMod || !info.Dir) throw pinError(group, info.Error ?? (result.stderr || result.stdout), pinned ? 'download' : `download ${module}@${version} for a substitute`, argv, workDir, pinned);
  return { goMod: await readFile(info.GoMod, 'utf8'), dir: info.Dir };
}

/**
 * The pinned module's extracted source in the Go module cache (read-only), downloading it if
 * needed: where setup copies a group's run-time assets from.
 */
export async function pinnedModuleDir(group: BuildGroup, workDir: string): Promise<string> {
  return (await downloadPinnedModule(group, workDir)).dir;
}

/** Maps each `=> ./staging/...` of k8s.io/kubernetes's go.mod to its published version. */
function stagingReplaces(group: BuildGroup, goMod: string): string[] {
  const stagingVersion = group.version.replace(/^v1\./, 'v0.');
  const staged = [...goMod.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s*=>\s*\.\/staging\//gm)].map((m) => m[1] as string);
  if (staged.length === 0) throw pinError(group, 'its go.mod lists no staging modules; the wrapper does not know this layout', 'read go.mod');
  return staged.map((module) => `${module} => ${module} ${stagingVersion}`);
}

/** The wrapper module's go.mod: require the pin, plus the group's replaces and excludes as one block each. */
export function wrapperGoMod(group: BuildGroup, replaces: readonly string[]): string {
  const lines = [`module kube-traffic-harness.local/build/${group.id}`, '', 'go 1.26', '', `require ${group.module} ${group.version}`];
  if (replaces.length > 0) lines.push('', 'replace (', ...replaces.map((r) => `\t${r}`), ')');
  if (group.excludes?.length) lines.push('', 'exclude (', ...group.excludes.map((e) => `\t${e}`), ')');
  return `${lines.join('\n')}\n`;
}

function toolsFile(packages: readonly string[]): string {
  // Blank imports keep the main packages (and so their dependencies) in the wrapper's module graph.
  return `//go:build tools\n\npackage tools\n\nimport (\n${packages.map((p) => `\t_ "${p}"`).join('\n')}\n)\n`;
}

/**
 * The `go build` command line. Flags that change compiled packages (-trimpath, -tags, the env in
 * goEnv) must stay exactly as they are for the Go build cache to serve a rebuild; -v and -ldflags
 * only touch progress output and the link step.
 */
export function goBuildArgv(group: BuildGroup, outDir: string): string[] {
  const tags = group.buildTags?.length ? ['-tags', group.buildTags.join(',')] : [];
  return ['go', 'build', '-v', '-trimpath', ...tags, '-ldflags', ldflags(group), '-o', `${outDir}/`, ...group.packages];
}

/** `go test -c` for one package's test binary, with the same flags as goBuildArgv (so the build cache serves both). */
export function goTestBinaryArgv(group: BuildGroup, pkg: string, output: string): string[] {
  const tags = group.buildTags?.length ? ['-tags', group.buildTags.join(',')] : [];
  return ['go', 'test', '-c', '-trimpath', ...tags, '-ldflags', ldflags(group), '-o', output, pkg];
}

/**
 * `-s -w` plus one `-X name=value` per version variable. The go command splits -ldflags on spaces
 * but honours '…' and "…" quoting (cmd/internal/quoted), so a value with spaces is passed as
 * `-X "name=value with spaces"`; a field cannot contain the quote character that encloses it.
 */
export function ldflags(group: BuildGroup): string {
  const bare = group.version.replace(/^v/, '');
  const [major = '', minor = ''] = bare.split('.');
  const fill = (value: string) =>
    value.replaceAll('{version}', group.version).replaceAll('{bare}', bare).replaceAll('{major}', major).replaceAll('{minor}', minor);
  const stamps = Object.entries(group.versionVariables ?? {}).map(([name, value]) => `-X ${quoteLdflagsField(`${name}=${fill(value)}`)}`);
  return ['-s', '-w', ...stamps].join(' ');
}

function quoteLdflagsField(field: string): string {
  if (!/[\s'"]/.test(field)) return field;
  if (!field.includes('"')) return `"${field}"`;
  if (!field.includes("'")) return `'${field}'`;
  throw new Error(`an -ldflags field cannot contain both quote characters: ${field}`);
}

const goEnv = { GOFLAGS: '-mod=mod -buildvcs=false', GOTOOLCHAIN: 'local', CGO_ENABLED: '0' };

async function goStep(group: BuildGroup, workDir: string, argv: string[], step: string, onPackage?: (pkg: string) => void, env: Record<string, string> = goEnv): Promise<string> {
  if (!onPackage) {
    const result = await run(argv, { cwd: workDir, env, nothrow: true });
    if (result.exitCode !== 0) throw pinError(group, result.stderr || result.stdout, step, argv, workDir);
    return result.stdout;
  }
  // go build -v prints each package it compiles on stderr: stream it for progress.
  const { spawn } = await import('node:child_process');
  return await new Promise<string>((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: workDir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let pending = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-64_000);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (/^[\w.-]+(\/[\w.@~+-]+)*$/.test(line.trim())) onPackage(line.trim());
    });
    child.stdout.resume();
    child.on('error', (error) => reject(environmentError(`cannot run go: ${error.message}`, { hint: 'install Go 1.26 or newer and put it on PATH' })));
    child.on('close', (code) => (code === 0 ? resolve('') : reject(pinError(group, stderr, step, argv, workDir))));
  });
}

function pinError(group: BuildGroup, output: string, step: string, argv?: string[], workDir?: string, pinUnavailable = false): HarnessError {
  const unknownVersion = pinUnavailable || /unknown revision|invalid version|no matching versions/i.test(output);
  const tail = output.split('\n').filter((l) => l.trim()).slice(-12).join('\n');
  const rerun = argv && workDir ? `\nrerun the failed step by hand: (cd ${workDir} && ${argv.join(' ')})` : '';
  const message = unknownVersion
    ? `${group.module}@${group.version} could not be found (step: ${step} of ${group.id})\n${tail}`
    : `building ${group.id} (${group.module}@${group.version}) failed at step '${step}'\n${tail}`;
  const hint = unknownVersion
    ? `the pin for ${group.id} names a version the Go module proxy does not have. List published versions with:\n  go list -m -versions ${group.module}\nthen fix the pin in harness/setup/versions.ts${overridden(group) ? ` (or unset KTH_PIN_${group.id.toUpperCase()})` : ''}.${rerun}`
    : `binaries already built are kept; rerun 'npm run setup' after fixing the cause.${rerun}`;
  return environmentError(message, { where: `harness/setup/versions.ts: ${group.id}`, hint });
}

/** Whether the pin came from a KTH_PIN_<GROUP> override rather than versions.ts. */
function overridden(group: BuildGroup): boolean {
  return group.version !== buildGroups.find((g) => g.id === group.id)?.version;
}
