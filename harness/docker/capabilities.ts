import { readFileSync } from 'node:fs';

/**
 * Linux capabilities by number (capability.h), the names OCI runtime specs use. Docker 20.10
 * gives `--privileged` containers every one of these; on a host whose bounding set lacks some
 * (this CI machine has no CAP_SYS_RESOURCE), runc then fails with "unable to apply caps".
 */
export const capabilityNames: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** The capability names in a `CapBnd:` hex mask, split into those the set has and those it lacks. */
export function splitBoundingSet(hexMask: string): { present: string[]; missing: string[] } {
  const mask = BigInt(`0x${hexMask.trim()}`);
  const present: string[] = [];
  const missing: string[] = [];
  capabilityNames.forEach((name, bit) => ((mask >> BigInt(bit)) & 1n ? present : missing).push(name));
  return { present, missing };
}

/** This process's capability bounding set (what any container started from here can have at most). */
export function hostBoundingSet(status = readFileSync('/proc/self/status', 'utf8')): { present: string[]; missing: string[] } {
  const line = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  if (!line?.[1]) return { present: [...capabilityNames], missing: [] };
  return splitBoundingSet(line[1]);
}
