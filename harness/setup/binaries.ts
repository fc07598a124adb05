import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { environmentError } from '../core/errors.ts';
import { cacheRoot } from '../core/paths.ts';
import { type BinaryName, CILIUM_CRDS_SUBDIR, CILIUM_LIB_SUBDIR, effectiveGroups, groupBinaryNames, KUBERNETES_VERSION } from './versions.ts';

export { CILIUM_CLANG_DIR } from './versions.ts';

/**
 * Where the pinned binaries live: KTH_BIN_DIR when the user brings their own, otherwise a cache
 * directory named after the pins, so a pin change never mixes old and new binaries.
 * A new pin set (a changed pin, a KTH_PIN_ override, a group added) therefore starts an empty
 * directory; setup fills it by hard-linking every group whose module@version another pin set's
 * directory already holds (install-binaries.ts), so only the changed group is built.
 */
export function binDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KTH_BIN_DIR) return env.KTH_BIN_DIR;
  return join(cacheRoot(env), pinsKey(env), 'bin');
}

/** `v1.36.3-1a2b3c4d`: the Kubernetes version people recognise, plus a hash of every pin. */
export function pinsKey(env: NodeJS.ProcessEnv = process.env): string {
  const pins = effectiveGroups(env)
    .filter((group) => !group.onRequest)
    .map((group) => `${group.module}@${group.version}`)
    .join('\n');
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
  const build = buildCommandFor(name, env);
  throw environmentError(`${name} is not installed at ${path}`, {
    where: env.KTH_BIN_DIR ? 'KTH_BIN_DIR' : 'binary cache',
    hint: env.KTH_BIN_DIR ? `put an executable ${name} in KTH_BIN_DIR (${env.KTH_BIN_DIR}), or unset KTH_BIN_DIR and run: ${build}` : `run: ${build}`,
  });
}

/** How to get a binary setup builds: the plain setup, or the on-request group that has it. */
export function buildCommandFor(name: BinaryName, env: NodeJS.ProcessEnv = process.env): string {
  const group = effectiveGroups(env).find((g) => groupBinaryNames(g).includes(name));
  return group?.onRequest
    ? `node harness/bin/kth.mjs setup-binaries --only ${group.id}   (built on request, for the ${group.purpose})`
    : 'npm run setup   (builds the pinned binaries once; later runs reuse them)';
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

/** Cilium's `--lib-dir`: holds `bpf/`, the datapath sources the agent compiles with clang. */
export function ciliumLibDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(binDir(env), CILIUM_LIB_SUBDIR);
}

/** Cilium's CRD manifests (v2, v2alpha1) to apply before agents start (no operator): absolute, sorted; empty when absent. */
export function ciliumCrdFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const root = join(binDir(env), CILIUM_CRDS_SUBDIR);
  const files: string[] = [];
  for (const version of ['v2', 'v2alpha1']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, version));
    } catch {
      continue;
    }
    files.push(...names.filter((n) => n.endsWith('.yaml')).map((n) => join(root, version, n)));
  }
  return files.sort();
}

/** What is missing of Cilium's run-time assets (lib dir with bpf/, CRDs); empty when complete. */
export function ciliumAssetProblems(env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const lib = ciliumLibDir(env);
  for (const file of ['bpf/bpf_lxc.c', 'bpf/bpf_host.c', 'bpf/bpf_sock.c', 'bpf/include']) {
    if (!existsSync(join(lib, file))) problems.push(`${join(lib, file)} is missing`);
  }
  const crds = ciliumCrdFiles(env).map((f) => f.split('/').slice(-2).join('/'));
  for (const crd of ['v2/ciliumnodes.yaml', 'v2/ciliumendpoints.yaml', 'v2/ciliumidentities.yaml']) {
    if (!crds.includes(crd)) problems.push(`${join(binDir(env), CILIUM_CRDS_SUBDIR, crd)} is missing`);
  }
  return problems;
}

/** Cilium's lib dir and CRD files, or an environment error (exit 3) that says how to get them. */
export function requireCiliumAssets(env: NodeJS.ProcessEnv = process.env): { libDir: string; crdFiles: string[] } {
  const problems = ciliumAssetProblems(env);
  if (problems.length === 0) return { libDir: ciliumLibDir(env), crdFiles: ciliumCrdFiles(env) };
  throw environmentError(`Cilium's run-time assets are not installed: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3} more)` : ''}`, {
    where: env.KTH_BIN_DIR ? 'KTH_BIN_DIR' : 'binary cache',
    hint: env.KTH_BIN_DIR
      ? `KTH_BIN_DIR (${env.KTH_BIN_DIR}) must hold ${CILIUM_LIB_SUBDIR}/bpf/ (the bpf/ directory of github.com/cilium/cilium at the pinned version) and ${CILIUM_CRDS_SUBDIR}/{v2,v2alpha1}/*.yaml (its pkg/k8s/apis/cilium.io/client/crds); or unset KTH_BIN_DIR and run: npm run setup`
      : 'run: npm run setup   (or: node harness/bin/kth.mjs setup-binaries --only cilium; copies them from the Go module cache, next to the binaries)',
  });
}
