import { createHash } from 'node:crypto';

/** Label every object the harness creates carries, so cleanup can find all of it. */
export const ManagedByLabel = 'app.kubernetes.io/managed-by';
export const managedByValue = 'kube-traffic-harness';
/** Label naming the run that created an object. */
export const RunIdLabel = 'kube-traffic-harness.io/run-id';
export const NameLabel = 'app.kubernetes.io/name';
export const ComponentLabel = 'app.kubernetes.io/component';

/** The label selector of one run's pods of one app (the workload's, its Ingress controller's). */
export const runSelector = (name: string, runId: string): string => `${NameLabel}=${name},${RunIdLabel}=${runId}`;

/** RFC 1035 label: what a Service name must be (and it suits Deployments too). */
export const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 label: namespaces. */
export const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A label value (a run id). */
export const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
export const maxLabelLength = 63;

/**
 * A stable RFC 1035 name from parts ("run", "Keepalive Imbalance", "http"): lower-cased, anything
 * else turned into dashes, and — when longer than 63 — cut with a short hash of the full text, so
 * the same parts always give the same name and different long parts stay distinct.
 */
export function stableName(...parts: string[]): string {
  const full = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[-0-9]+|-+$/g, '');
  const base = full === '' ? 'kth' : full;
  if (base.length <= maxLabelLength) return base;
  const hash = createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 8);
  return `${base.slice(0, maxLabelLength - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}
