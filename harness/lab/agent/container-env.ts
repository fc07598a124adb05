import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { LAB_MARKER_ENV } from '../names.ts';
import { DownwardEnv } from '../../workloads/identity.ts';
import type { TokenRequestSpec } from './projected-volume.ts';

/**
 * A container's environment, built as the kubelet builds it: envFrom first, then env in order,
 * each value expanded with `$(VAR)` against what came before; valueFrom for the downward API
 * (fieldRef, resourceFieldRef), ConfigMaps and Secrets. On top of the kubelet's rules the lab
 * always sets the downward-API identity (POD_NAME, POD_NAMESPACE, POD_IP, NODE_NAME; the
 * container's own env wins) and the lab marker KTH_LAB (which nothing overrides: `kth cleanup`
 * finds pod processes by it).
 */
export class ContainerConfigError extends Error {
  constructor(
    message: string,
    /** The waiting reason the kubelet reports for this kind of problem. */
    readonly reason: 'CreateContainerConfigError' | 'ContainerCreating' = 'CreateContainerConfigError',
    /** When to try again: the kubelet's next sync, or its volume manager's quicker retry. */
    readonly retryMs = 10_000,
  ) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

export interface EnvLookups {
  /** The ConfigMap's data, or undefined when it does not exist. */
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** The Secret's data, decoded, or undefined when it does not exist. */
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** A TokenRequest for a pod's ServiceAccount, bound to the pod (projected volumes). */
  serviceAccountToken?(request: TokenRequestSpec): Promise<{ token: string; expiresAt: Date }>;
  /** Where the `kubernetes` Service in `default` is (undefined when it has no ClusterIP yet). */
  masterService?(): Promise<{ host: string; port: number } | undefined>;
}

export const noLookups: EnvLookups = {
  configMap: async () => undefined,
  secret: async () => undefined,
};

export interface EnvContext {
  pod: V1Pod;
  podIp: string;
  hostIp: string;
  nodeName: string;
  labName: string;
  /** The image's ENV (harness images), under everything else. */
  imageEnv: Record<string, string>;
  /** What every process gets from the agent (PATH, HOME), under the image's ENV. */
  baseEnv: Record<string, string>;
  /** For resourceFieldRef without a limit: the node's allocatable cpu (cores) and memory (bytes). */
  nodeAllocatable: { cpu: number; memory: number };
  /** The `kubernetes` Service in `default` (the API server), which every container learns from its env. */
  masterService?: { host: string; port: number };
  lookups: EnvLookups;
}

export async function buildContainerEnv(container: V1Container, context: EnvContext): Promise<Record<string, string>> {
  const { pod } = context;
  const namespace = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = {
    ...context.baseEnv,
    HOSTNAME: pod.spec?.hostname ?? pod.metadata?.name ?? '',
    ...context.imageEnv,
    ...(context.masterService ? masterServiceEnv(context.masterService) : {}),
    [DownwardEnv.podName]: pod.metadata?.name ?? '',
    [DownwardEnv.podNamespace]: namespace,
    [DownwardEnv.podIp]: context.podIp,
    [DownwardEnv.nodeName]: context.nodeName,
  };
  // Only what the container declares is visible to $(VAR) expansion, as in the kubelet.
  const declared: Record<string, string> = {};

  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    let data: Record<string, string> | undefined;
    if (source.configMapRef) {
      data = await context.lookups.configMap(namespace, source.configMapRef.name ?? '');
      if (!data && !source.configMapRef.optional) throw new ContainerConfigError(`configmap "${source.configMapRef.name}" not found`);
    } else if (source.secretRef) {
      data = await context.lookups.secret(namespace, source.secretRef.name ?? '');
      if (!data && !source.secretRef.optional) throw new ContainerConfigError(`secret "${source.secretRef.name}" not found`);
    }
    for (const [key, value] of Object.entries(data ?? {})) {
      if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(prefix + key)) continue; // the kubelet skips invalid names
      declared[prefix + key] = value;
    }
  }
  for (const variable of container.env ?? []) {
    const value = await valueOf(variable, container, context, namespace, declared);
    if (value !== undefined) declared[variable.name] = value;
  }
  return { ...env, ...declared, [LAB_MARKER_ENV]: context.labName };
}

/**
 * What the kubelet gives every container for the API server's Service whatever enableServiceLinks
 * says: the variables client-go's InClusterConfig reads (KUBERNETES_SERVICE_HOST/PORT), and the
 * Docker-links style ones beside them.
 */
export function masterServiceEnv({ host, port }: { host: string; port: number }): Record<string, string> {
  const url = `tcp://${host}:${port}`;
  return {
    KUBERNETES_SERVICE_HOST: host,
    KUBERNETES_SERVICE_PORT: `${port}`,
    KUBERNETES_SERVICE_PORT_HTTPS: `${port}`,
    KUBERNETES_PORT: url,
    [`KUBERNETES_PORT_${port}_TCP`]: url,
    [`KUBERNETES_PORT_${port}_TCP_PROTO`]: 'tcp',
    [`KUBERNETES_PORT_${port}_TCP_PORT`]: `${port}`,
    [`KUBERNETES_PORT_${port}_TCP_ADDR`]: host,
  };
}

async function valueOf(
  variable: V1EnvVar,
  container: V1Container,
  context: EnvContext,
  namespace: string,
  declared: Record<string, string>,
): Promise<string | undefined> {
  if (!variable.valueFrom) return expandVars(variable.value ?? '', declared);
  const from = variable.valueFrom;
  if (from.fieldRef) return fieldValue(from.fieldRef.fieldPath, context);
  if (from.resourceFieldRef) {
    return resourceValue(from.resourceFieldRef.resource, from.resourceFieldRef.divisor as string | undefined, from.resourceFieldRef.containerName ?? container.name, context);
  }
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const data = await context.lookups.configMap(namespace, ref.name ?? '');
    if (!data) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`configmap "${ref.name}" not found`);
    }
    if (!(ref.key in data)) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}`);
    }
    return data[ref.key];
  }
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const data = await context.lookups.secret(namespace, ref.name ?? '');
    if (!data) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`secret "${ref.name}" not found`);
    }
    if (!(ref.key in data)) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`);
    }
    return data[ref.key];
  }
  throw new ContainerConfigError(`env ${variable.name}: this valueFrom source is not supported by the lab node agent`);
}

function fieldValue(path: string, context: EnvContext): string {
  const { pod } = context;
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) {
    const map = keyed[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[keyed[2] as string] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return context.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return context.hostIp;
    case 'status.podIP':
    case 'status.podIPs':
      return context.podIp;
    default:
      throw new ContainerConfigError(`fieldRef ${path} is not supported (use metadata.name, metadata.namespace, metadata.uid, metadata.labels['…'], metadata.annotations['…'], spec.nodeName, spec.serviceAccountName, status.podIP(s), status.hostIP(s))`);
  }
}

function resourceValue(resource: string, divisor: string | undefined, containerName: string, context: EnvContext): string {
  const container = [...(context.pod.spec?.containers ?? []), ...(context.pod.spec?.initContainers ?? [])].find((c) => c.name === containerName);
  const [kind, name] = resource.split('.') as [string, string | undefined];
  const table = kind === 'limits' ? container?.resources?.limits : kind === 'requests' ? container?.resources?.requests : undefined;
  if (!name || (kind !== 'limits' && kind !== 'requests')) throw new ContainerConfigError(`resourceFieldRef ${resource} is not supported`);
  const declared = table?.[name] as string | undefined;
  let value: number;
  if (declared !== undefined) value = parseQuantity(declared);
  else if (name === 'cpu') value = kind === 'limits' ? context.nodeAllocatable.cpu : 0;
  else if (name === 'memory') value = kind === 'limits' ? context.nodeAllocatable.memory : 0;
  else if (name === 'ephemeral-storage') value = 0;
  else throw new ContainerConfigError(`resourceFieldRef ${resource} is not supported`);
  const by = divisor ? parseQuantity(divisor) : 1;
  if (by <= 0) throw new ContainerConfigError(`resourceFieldRef ${resource}: divisor ${divisor} is not positive`);
  // The kubelet rounds cpu up to whole divisors and memory up as well.
  return String(Math.ceil(value / by));
}

const quantitySuffix: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes resource quantity ('500m', '1Gi', '2', '1e3') as a number. */
export function parseQuantity(text: string | number): number {
  if (typeof text === 'number') return text;
  const match = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(text.trim());
  if (!match) throw new ContainerConfigError(`'${text}' is not a resource quantity`);
  return Number(match[1]) * (quantitySuffix[match[2] ?? ''] as number);
}

/**
 * Kubernetes `$(VAR)` expansion (command, args, env values): a defined variable is replaced,
 * an undefined one is left as written, and `$$` is an escaped `$`.
 */
export function expandVars(text: string, vars: Readonly<Record<string, string>>): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch !== '$' || i + 1 >= text.length) {
      out += ch;
      i += 1;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = text.indexOf(')', i + 2);
      if (close === -1) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, close);
      out += Object.hasOwn(vars, name) ? vars[name] : `$(${name})`;
      i = close + 1;
    } else {
      out += '$';
      i += 1;
    }
  }
  return out;
}
