/**
 * Names of what the agent creates for a pod. They carry the first 8 hex digits of the pod UID so
 * `kth cleanup`, `kth lab exec <ns>/<pod>` and a restarted agent find them without any state.
 */

/** First 8 hex digits of a pod UID (the UID's first group). */
export function uid8(uid: string): string {
  const hex = uid.replaceAll('-', '').toLowerCase();
  if (!/^[0-9a-f]{8}/.test(hex)) throw new Error(`pod uid '${uid}' does not start with 8 hex digits`);
  return hex.slice(0, 8);
}

/** The pod's network namespace: `kth-<lab>-p-<uid8>`. */
export const podNetnsName = (prefix: string, uid: string): string => `${prefix}${uid8(uid)}`;

/** The host (node) side of the pod's veth pair: `kp<uid8>` (10 bytes, under IFNAMSIZ). */
export const hostVethName = (uid: string): string => `kp${uid8(uid)}`;

/** The interface alias on the host side, naming the pod for people reading `ip link`. */
export const hostVethAlias = (namespace: string, name: string): string => `kth-pod:${namespace}/${name}`;

/** The pod's directory under `<stateDir>/pods/`: `<namespace>_<name>_<uid8>` (as `kth lab logs` expects). */
export const podDirName = (namespace: string, name: string, uid: string): string => `${namespace}_${name}_${uid8(uid)}`;

/** `<namespace>/<name>` for messages. */
export const podRef = (pod: { metadata?: { namespace?: string; name?: string } }): string =>
  `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;

/**
 * The hostname a pod's containers see, as the kubelet chooses it: `spec.hostname` or the pod's
 * name, cut to 63 characters without a trailing '-' or '.'; hostNetwork pods see their node's.
 */
export function podHostname(pod: { metadata?: { name?: string }; spec?: { hostname?: string; hostNetwork?: boolean } }, nodeName: string): string {
  if (pod.spec?.hostNetwork) return nodeName;
  const name = pod.spec?.hostname || (pod.metadata?.name ?? '');
  return name.length > 63 ? name.slice(0, 63).replace(/[-.]+$/, '') : name;
}
