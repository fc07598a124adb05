import { createHash } from 'node:crypto';
import { badInput } from '../core/errors.ts';

/**
 * Names of everything a lab creates. Names carry the lab's name so `down`, `cleanup` and
 * `kth doctor` find what belongs to whom without a state file (kind finds clusters by label the
 * same way). Kernel interface names are limited to 15 bytes, so host links use a hash + alias.
 */
export const LAB_MARKER_ENV = 'KTH_LAB';
export const NETNS_PREFIX = 'kth-';
export const HOST_LINK_ALIAS_PREFIX = 'kth-lab:';

const labNamePattern = /^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/;

export function validateLabName(name: string): string {
  if (!labNamePattern.test(name)) {
    throw badInput(`lab name '${name}' is not valid`, {
      where: '--name',
      hint: 'use 1–20 lower-case letters, digits and dashes, starting and ending with a letter or digit (e.g. --name lab1)',
    });
  }
  return name;
}

export type LabRole = 'sw' | 'cp' | 'lb' | 'client' | `n${number}`;

export const labNames = (lab: string) => ({
  netns: (role: LabRole) => `${NETNS_PREFIX}${lab}-${role}`,
  nodeNetns: (index: number) => `${NETNS_PREFIX}${lab}-n${index}`,
  nodeName: (index: number) => `${lab}-node-${index}`,
  podNetnsPrefix: `${NETNS_PREFIX}${lab}-p-`,
  /** The namespace the node agent makes for a pod: the first 8 hex digits of its UID. */
  podNetns: (podUid: string) => `${NETNS_PREFIX}${lab}-p-${podUid.replaceAll('-', '').slice(0, 8)}`,
  /** Every namespace of this lab starts with this. */
  netnsPrefix: `${NETNS_PREFIX}${lab}-`,
  hostLink: `kth${createHash('sha256').update(lab).digest('hex').slice(0, 8)}`,
  hostLinkAlias: `${HOST_LINK_ALIAS_PREFIX}${lab}`,
});
