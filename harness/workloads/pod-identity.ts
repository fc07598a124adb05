import type { ServedBy } from './identity.ts';

/** The part of {@link ServedBy} that is fixed for a server process: which pod it is. */
export type PodIdentity = Pick<ServedBy, 'pod' | 'node' | 'podIp' | 'namespace'>;

/**
 * Node.js reports IPv4 peers of a dual-stack listener as IPv4-mapped IPv6 (`::ffff:10.0.0.7`);
 * reports and source-IP checks compare plain IPv4, so the mapping is dropped here.
 */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

/** The address a client on this host should connect to when a server listens on `host`. */
export function connectableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}
