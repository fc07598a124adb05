import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheRoot } from '../core/paths.ts';

/** The name dockerd knows the wrapper by (`--add-runtime`). */
export const wrapperRuntimeName = 'kth-runc';

/**
 * The text of an OCI runtime that drops, from each container's config.json and each exec's process
 * spec (kind runs `docker exec --privileged` at every step), the capabilities the host's bounding
 * set lacks, then hands over to runc. Docker 20.10 (Debian's) grants a privileged
 * container every capability it knows, which runc cannot apply on such a host (moby#42906, fixed
 * in newer engines); kind's node containers are privileged.
 */
export function runtimeWrapperScript(runc: string, missing: readonly string[]): string {
  const drop = JSON.stringify(missing);
  return `#!/bin/sh
# Written by kube-traffic-harness (harness/docker/runtime-wrapper.ts): removes capabilities this
# host's bounding set lacks (${missing.join(' ')}) from what runc is asked to apply — a container's
# config.json (create/run --bundle) and an exec's process spec (exec --process) — then runs runc.
strip() { # $1: file, $2: jq path of the capability sets
  jq --argjson drop '${drop}' "if $2 then $2 |= with_entries(.value |= map(select(. as \\$c | (\\$drop | index(\\$c)) | not))) else . end" "$1" > "$1.kth" && mv "$1.kth" "$1" || exit 1
}
bundle=
process=
prev=
for arg in "$@"; do
  case "$prev" in --bundle|-b) bundle=$arg ;; --process|-p) process=$arg ;; esac
  case "$arg" in --bundle=*) bundle=\${arg#--bundle=} ;; --process=*) process=\${arg#--process=} ;; esac
  prev=$arg
done
if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then strip "$bundle/config.json" .process.capabilities; fi
if [ -n "$process" ] && [ -f "$process" ]; then strip "$process" .capabilities; fi
exec ${runc} "$@"
`;
}

/** Writes the wrapper under the cache directory and returns its path. */
export async function installRuntimeWrapper(runc: string, missing: readonly string[]): Promise<string> {
  const dir = join(cacheRoot(), 'docker');
  await mkdir(dir, { recursive: true });
  const path = join(dir, wrapperRuntimeName);
  await writeFile(path, runtimeWrapperScript(runc, missing));
  await chmod(path, 0o755);
  return path;
}
