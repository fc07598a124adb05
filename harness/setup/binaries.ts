import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { environmentError } from '../core/errors.ts';
import { cacheRoot } from '../core/paths.ts';
import { type BinaryName, effectiveGroups, KUBERNETES_VERSION } from './versions.ts';

/**
 * Where the pinned binaries live: KTH_BIN_DIR when the user brings their own, otherwise a cache
 * directory named after the pins, so a pin change never mixes old and new binaries.
 */
export function binDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KTH_BIN_DIR) return env.KTH_BIN_DIR;
  return join(cacheRoot(env), pinsKey(env), 'bin');
}

/** `v1.36.3-1a2b3c4d`: the Kubernetes version people recognise, plus a hash of every pin. */
export function pinsKey(env: NodeJS.ProcessEnv = process.env): string {
  const pins = effectiveGroups(env).map((group) => `${group.module}@${group.version}`).join('\n');
  const hash = createHash('sha256').update(pins).digest('hex').slice(0, 8);
  return `${KUBERNETES_VERSION}-${hash}`;
}

export function binaryPath(name: BinaryName, env: NodeJS.ProcessEnv = process.env): string {
  return join(binDir(env), name);
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary's path, or an environment error (exit 3) that says how to get it. */
export function requireBinary(name: BinaryName, env: NodeJS.ProcessEnv = process.env): string {
  const path = binaryPath(name, env);
  if (isExecutable(path)) return path;
  throw environmentError(`${name} is not installed at ${path}`, {
    where: env.KTH_BIN_DIR ? 'KTH_BIN_DIR' : 'binary cache',
    hint: env.KTH_BIN_DIR
      ? `put an executable ${name} in KTH_BIN_DIR (${env.KTH_BIN_DIR}), or unset KTH_BIN_DIR and run: npm run setup`
      : 'run: npm run setup   (builds the pinned binaries once; later runs reuse them)',
  });
}

export interface InstalledVersion {
  binary: string;
  module: string;
  version: string;
  /** First line the binary printed when asked for its version at build time. */
  reported: string;
  builtAt: string;
}

/** What setup recorded in `<bin>/versions.json`; empty when nothing was built there. */
export function readInstalledVersions(env: NodeJS.ProcessEnv = process.env): InstalledVersion[] {
  try {
    return JSON.parse(readFileSync(join(binDir(env), 'versions.json'), 'utf8')) as InstalledVersion[];
  } catch {
    return [];
  }
}
