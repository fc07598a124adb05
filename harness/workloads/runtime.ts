import { createHash } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { badInput, environmentError } from '../core/errors.ts';
import { cacheRoot, repoRoot } from '../core/paths.ts';

/**
 * The sample servers exist twice, with one contract: Node.js (`kth serve http|grpc`, grpc-js) and
 * Go (`kth-sample-server http|grpc`, net/http and grpc-go). The contract suite runs against both.
 */
export const serverRuntimes = ['node', 'go'] as const;
export type ServerRuntime = (typeof serverRuntimes)[number];

/** What a workload runs when it does not say (README: "Which server runtime"). */
export const defaultServerRuntime: ServerRuntime = 'node';

/** The Go module of the Go sample servers (built by setup, like the upstream programs). */
export const goServerSourceDir = join(repoRoot, 'harness/workloads/go');
export const goServerBinaryName = 'kth-sample-server';

/** The files whose content decides the Go build: go.mod, go.sum and every .go file. */
export function goServerSources(dir = goServerSourceDir): string[] {
  const files: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.go') || entry.name === 'go.mod' || entry.name === 'go.sum') files.push(path);
    }
  };
  walk(dir);
  return files.sort();
}

/** A hash of the Go sources, so an edit builds into a fresh directory and never runs a stale binary. */
export function goServerSourceHash(dir = goServerSourceDir): string {
  const hash = createHash('sha256');
  for (const file of goServerSources(dir)) hash.update(`${relative(dir, file)}\0`).update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * Where the Go sample server binary is: KTH_SAMPLE_SERVER_BIN when the user brings one, else the
 * cache directory of the current sources (`<cache>/sample-server/<source hash>/kth-sample-server`).
 */
export function goServerBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KTH_SAMPLE_SERVER_BIN) return env.KTH_SAMPLE_SERVER_BIN;
  return join(cacheRoot(env), 'sample-server', goServerSourceHash(), goServerBinaryName);
}

/** The Go sample server's path, or an environment error (exit 3) that says how to get it. */
export function requireGoServer(env: NodeJS.ProcessEnv = process.env): string {
  const path = goServerBinary(env);
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    throw environmentError(`the Go sample server (runtime go) is not built: ${path} is missing`, {
      where: env.KTH_SAMPLE_SERVER_BIN ? 'KTH_SAMPLE_SERVER_BIN' : 'binary cache',
      hint: env.KTH_SAMPLE_SERVER_BIN
        ? 'point KTH_SAMPLE_SERVER_BIN at a built kth-sample-server, or unset it and run: npm run setup'
        : 'run: npm run setup   (builds it from harness/workloads/go; or choose runtime node)',
    });
  }
}

/** Parses a `--runtime` value. */
export function parseServerRuntime(value: string, where = '--runtime'): ServerRuntime {
  const runtime = value.trim();
  if ((serverRuntimes as readonly string[]).includes(runtime)) return runtime as ServerRuntime;
  throw badInput(`${where}: '${value}' is not a server runtime`, { where, hint: `use one of: ${serverRuntimes.join(', ')}` });
}

/** The library behind a sample server, as reports name it: what a MaxConnectionAge result belongs to. */
export function serverImplementation(kind: 'http' | 'grpc', runtime: ServerRuntime): string {
  if (runtime === 'node') return kind === 'grpc' ? 'grpc-js (Node.js)' : 'node:http (Node.js)';
  return kind === 'grpc' ? 'grpc-go' : 'net/http (Go)';
}
