import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { environmentError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { repoRoot } from '../../core/paths.ts';
import { goServerBinaryName } from '../runtime.ts';

export const dockerfilePath = join(repoRoot, 'harness/workloads/image/Dockerfile');

export interface BuildContext extends AsyncDisposable {
  readonly dir: string;
  readonly dockerfile: string;
}

/**
 * A build context with only what the images run: package.json, harness/ and the production
 * dependencies (as `npm ls --omit=dev` lists them, read from the installed tree — no registry).
 * Staging it keeps tests, caches and dev tools out of the images without a .dockerignore.
 * With `goServer`, the Go sample server binary goes to `bin/kth-sample-server` for the -go targets.
 */
export async function stageBuildContext(root = repoRoot, options: { goServer?: string } = {}): Promise<BuildContext> {
  const dir = await mkdtemp(join(tmpdir(), 'kth-image-context-'));
  try {
    await cp(join(root, 'package.json'), join(dir, 'package.json'));
    await cp(join(root, 'harness'), join(dir, 'harness'), { recursive: true });
    await cp(dockerfilePath, join(dir, 'Dockerfile'));
    // The -go targets copy the Go sample server setup built (static, so it runs on an empty image).
    if (options.goServer) {
      await mkdir(join(dir, 'bin'));
      await cp(options.goServer, join(dir, 'bin', goServerBinaryName));
    }
    await mkdir(join(dir, 'node_modules'));
    for (const packageDir of await productionPackages(root)) {
      const target = join(dir, relative(root, packageDir));
      // Nested node_modules are copied as packages of their own when npm lists them as production.
      await cp(packageDir, target, {
        recursive: true,
        filter: (source) => !relative(packageDir, source).split(sep).includes('node_modules'),
      });
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    dockerfile: join(dir, 'Dockerfile'),
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Production packages an image never loads: the TypeScript compiler checks scenario files where
 * `kth plan/run` starts (harness/engine/typecheck.ts), never in a pod (23 MB saved per image).
 */
const hostOnlyPackages = new Set(['typescript']);

/** Directories of installed production packages (direct and transitive) an image needs, under `root`/node_modules. */
export async function productionPackages(root = repoRoot): Promise<string[]> {
  // npm ls exits 1 for cosmetic problems (extraneous packages); the parseable list is still complete.
  const listed = await run(['npm', 'ls', '--omit=dev', '--all', '--parseable'], { cwd: root, nothrow: true, timeoutMs: 120_000 });
  const modules = join(root, 'node_modules') + sep;
  const dirs = listed.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith(modules) && !hostOnlyPackages.has(relative(modules, line)));
  if (dirs.length === 0) {
    throw environmentError('npm ls --omit=dev listed no installed production packages', {
      where: root,
      hint: `install dependencies first (npm ci), then retry; npm said: ${listed.stderr.trim().split('\n').slice(-3).join(' ')}`,
    });
  }
  return [...new Set(dirs)].sort();
}
