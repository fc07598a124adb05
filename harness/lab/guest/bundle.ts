import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from '../../core/paths.ts';

/**
 * The harness CLI as one JavaScript file, for processes in a guest kernel (node agents, the lab
 * load balancer, sample-server pods, load clients). Measured in the emulated guest: `kth lab agent
 * --help` took ~50 s from the TypeScript sources (tsx, and thousands of files of node_modules read
 * over 9p) and 4 s from this bundle. Packages that find their own files through __dirname (the
 * gRPC family's .proto files) stay external and load from node_modules.
 *
 * It lives at harness/.bundle/ (two levels down, like the sources it replaces, so paths taken from
 * import.meta.url still name the repository), is keyed by the content of the sources and the
 * lockfile, and is rebuilt only when they change.
 */
const EXTERNAL = ['@grpc/grpc-js', '@grpc/proto-loader', '@grpc/reflection', 'grpc-health-check', 'protobufjs', 'esbuild', 'tsx', 'fsevents'];

export function bundleDir(root = repoRoot): string {
  return join(root, 'harness', '.bundle');
}

/** The bundle's path for the current sources, built when missing. */
export async function guestEntry(log: (line: string) => void = () => {}, root = repoRoot): Promise<string> {
  const key = sourceKey(root);
  const target = join(bundleDir(root), `kth-${key}.mjs`);
  if (existsSync(target)) return target;
  log(`guest: bundling the harness for the guest (once per source change): ${relative(root, target)}`);
  await mkdir(bundleDir(root), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(root, 'harness/cli/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: temp,
    external: EXTERNAL,
    logLevel: 'error',
    // CommonJS dependencies inside an ES module still call require().
    banner: { js: "import { createRequire as __kthCreateRequire } from 'node:module'; const require = __kthCreateRequire(import.meta.url);" },
  });
  await rename(temp, target);
  // Older bundles are for sources that no longer exist.
  for (const file of readdirSync(bundleDir(root))) if (file !== `kth-${key}.mjs` && !file.endsWith('.tmp')) await rm(join(bundleDir(root), file), { force: true });
  return target;
}

/**
 * A hash of every harness source file and the lockfile (an installed package has none: npm pack
 * never ships it; its package.json pins the dependencies' ranges instead).
 */
export function sourceKey(root = repoRoot): string {
  const hash = createHash('sha256');
  const files = listSources(join(root, 'harness')).sort();
  const lock = existsSync(join(root, 'package-lock.json')) ? join(root, 'package-lock.json') : join(root, 'package.json');
  for (const file of [...files, lock]) hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

function listSources(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listSources(path));
    else if (/\.(ts|mjs|js|json)$/.test(entry.name)) found.push(path);
  }
  return found;
}
