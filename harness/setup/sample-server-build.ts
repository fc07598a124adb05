import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatMs } from '../core/duration.ts';
import { environmentError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { goServerBinary, goServerBinaryName, goServerSourceDir } from '../workloads/runtime.ts';
import { isExecutable } from './binaries.ts';

export interface SampleServerInstall {
  path: string;
  /** Built now, rather than found from an earlier setup (or brought by KTH_SAMPLE_SERVER_BIN). */
  built: boolean;
  /** What `kth-sample-server version` printed. */
  version: string;
}

/**
 * The `go build` of the Go sample servers. The flags match the upstream builds (static, no cgo, no
 * VCS stamp, -trimpath) so Go's build cache serves a rebuild after an edit in seconds.
 */
export function sampleServerBuildArgv(out: string): string[] {
  return ['go', 'build', '-trimpath', '-ldflags', '-s -w', '-o', out, '.'];
}

const goEnv = { CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod -buildvcs=false' };

/**
 * Makes the Go sample server present: reuses the binary built from the same sources (the cache
 * directory is named after their hash), else builds it. Setup runs this next to the upstream builds.
 */
export async function installSampleServer(options: { log?: (line: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<SampleServerInstall> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const path = goServerBinary(env);
  if (env.KTH_SAMPLE_SERVER_BIN || isExecutable(path)) {
    const version = await versionOf(path);
    log(`[setup] go sample server: present (${path})`);
    return { path, built: false, version };
  }
  log(`[setup] go sample server: building ${goServerBinaryName} from harness/workloads/go`);
  const started = Date.now();
  await mkdir(dirname(path), { recursive: true });
  const staged = `${path}.building`;
  await rm(staged, { force: true });
  const argv = sampleServerBuildArgv(staged);
  const result = await run(argv, { cwd: goServerSourceDir, env: goEnv, nothrow: true, timeoutMs: 900_000 });
  if (result.exitCode !== 0) {
    await rm(staged, { force: true });
    const tail = `${result.stderr}\n${result.stdout}`.split('\n').filter((line) => line.trim()).slice(-12).join('\n');
    throw environmentError(`building the Go sample server failed\n${tail}`, {
      where: 'harness/workloads/go',
      hint: `rerun it by hand: (cd ${goServerSourceDir} && CGO_ENABLED=0 ${argv.join(' ')})`,
    });
  }
  await rename(staged, path);
  const version = await versionOf(path);
  log(`[setup] go sample server: built in ${formatMs(Date.now() - started)} (${path})`);
  return { path, built: true, version };
}

/** The binary's own version line; a binary that cannot say it is broken (or not the sample server). */
async function versionOf(path: string): Promise<string> {
  if (!existsSync(path)) {
    throw environmentError(`the Go sample server is not at ${path}`, {
      where: 'KTH_SAMPLE_SERVER_BIN',
      hint: 'point KTH_SAMPLE_SERVER_BIN at a built kth-sample-server, or unset it and run: npm run setup',
    });
  }
  const result = await run([path, 'version'], { nothrow: true, timeoutMs: 10_000 });
  if (result.exitCode !== 0) {
    throw environmentError(`${path} version failed (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`, {
      where: path,
      hint: 'delete it and run: npm run setup',
    });
  }
  return result.stdout.trim().split('\n')[0] ?? '';
}
