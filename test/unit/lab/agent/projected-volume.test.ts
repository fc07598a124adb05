import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod, V1Volume } from '@kubernetes/client-node';
import { ContainerConfigError } from '../../../../harness/lab/agent/container-env.ts';
import { type ProjectionLookups, type TokenRequestSpec, writeProjectedVolume } from '../../../../harness/lab/agent/projected-volume.ts';

const pod: V1Pod = { metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1', labels: { b: '2', a: '1' } }, spec: { containers: [], serviceAccountName: 'web' } };

/** What the ServiceAccount admission plugin adds to every pod. */
const kubeApiAccess: V1Volume = {
  name: 'kube-api-access-x1',
  projected: {
    defaultMode: 0o644,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  },
};

function lookups(data: Record<string, Record<string, string>> = { 'kube-root-ca.crt': { 'ca.crt': 'CA' } }): ProjectionLookups & { requests: TokenRequestSpec[] } {
  const requests: TokenRequestSpec[] = [];
  return {
    requests,
    configMap: async (_ns, name) => data[name],
    secret: async () => undefined,
    serviceAccountToken: async (request) => {
      requests.push(request);
      return { token: `token-${requests.length}`, expiresAt: new Date(Date.now() + request.expirationSeconds * 1000) };
    },
  };
}

describe('projected volumes (kube-api-access-*)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-projected-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN the volume admission adds THEN a token bound to the pod for its ServiceAccount, the CA and the namespace, refreshed at 80 % of the token\'s life', async () => {
    const api = lookups();
    const before = Date.now();
    const written = await writeProjectedVolume(kubeApiAccess, pod, join(dir, 'v'), api);
    expect(await readFile(join(dir, 'v/token'), 'utf8')).toBe('token-1');
    expect(await readFile(join(dir, 'v/ca.crt'), 'utf8')).toBe('CA');
    expect(await readFile(join(dir, 'v/namespace'), 'utf8')).toBe('shop');
    expect((await stat(join(dir, 'v/token'))).mode & 0o777).toBe(0o644);
    expect(api.requests).toEqual([{ namespace: 'shop', serviceAccount: 'web', audiences: [], expirationSeconds: 3607, pod: { name: 'web-1', uid: 'u-1' } }]);
    const refreshIn = written.refreshAt!.getTime() - before;
    expect(refreshIn).toBeGreaterThan(0.8 * 3607_000 - 1000);
    expect(refreshIn).toBeLessThanOrEqual(0.8 * 3607_000 + 1000);
    // Written again (a refresh): the new token replaces the old one in place.
    await writeProjectedVolume(kubeApiAccess, pod, join(dir, 'v'), api);
    expect(await readFile(join(dir, 'v/token'), 'utf8')).toBe('token-2');
  });

  it('GIVEN the CA ConfigMap not yet published THEN an error that says which, and nothing for an optional source', async () => {
    await expect(writeProjectedVolume(kubeApiAccess, pod, join(dir, 'v'), lookups({}))).rejects.toThrow(new ContainerConfigError('volume kube-api-access-x1: configmap "kube-root-ca.crt" not found'));
    const optional: V1Volume = { name: 'opt', projected: { sources: [{ configMap: { name: 'absent', optional: true } }] } };
    expect((await writeProjectedVolume(optional, pod, join(dir, 'o'), lookups())).refreshAt).toBeUndefined();
  });

  it('GIVEN labels through the downward API, a custom item mode, and a path out of the volume THEN the kubelet\'s file format, the mode, and a refusal', async () => {
    const volume: V1Volume = { name: 'meta', projected: { sources: [{ downwardAPI: { items: [{ path: 'labels', mode: 0o600, fieldRef: { fieldPath: 'metadata.labels' } }] } }] } };
    await writeProjectedVolume(volume, pod, join(dir, 'm'), lookups());
    expect(await readFile(join(dir, 'm/labels'), 'utf8')).toBe('a="1"\nb="2"');
    expect((await stat(join(dir, 'm/labels'))).mode & 0o777).toBe(0o600);
    const escaping: V1Volume = { name: 'bad', projected: { sources: [{ downwardAPI: { items: [{ path: '../x', fieldRef: { fieldPath: 'metadata.name' } }] } }] } };
    await expect(writeProjectedVolume(escaping, pod, join(dir, 'b'), lookups())).rejects.toThrow(/path "..\/x" must stay inside the volume/);
  });

  it('GIVEN no API server to ask (a recording sink) THEN a token source fails clearly', async () => {
    const { serviceAccountToken: _none, ...noTokens } = lookups();
    await expect(writeProjectedVolume(kubeApiAccess, pod, join(dir, 'v'), noTokens)).rejects.toThrow(/no API server to request a ServiceAccount token from/);
  });
});
