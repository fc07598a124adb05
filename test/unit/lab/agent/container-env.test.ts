import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { buildContainerEnv, ContainerConfigError, type EnvContext, expandVars, noLookups, parseQuantity } from '../../../../harness/lab/agent/container-env.ts';

const pod: V1Pod = {
  metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1', labels: { app: 'web' }, annotations: { note: 'hi' } },
  spec: { containers: [{ name: 'app', resources: { limits: { cpu: '500m', memory: '64Mi' } } }], serviceAccountName: 'default' },
};

const context = (extra: Partial<EnvContext> = {}): EnvContext => ({
  pod,
  podIp: '198.18.129.7',
  hostIp: '198.18.0.11',
  nodeName: 'lab-node-1',
  labName: 'lab',
  imageEnv: { KTH_PORT: '8080', NODE_ENV: 'production' },
  baseEnv: { PATH: '/usr/bin:/bin', HOME: '/root' },
  nodeAllocatable: { cpu: 8, memory: 16 * 2 ** 30 },
  lookups: noLookups,
  ...extra,
});

const container = (env: V1Container['env'], extra: Partial<V1Container> = {}): V1Container => ({ name: 'app', env, ...extra });

describe('buildContainerEnv', () => {
  it('GIVEN no env WHEN built THEN PATH/HOME, HOSTNAME, the image ENV, the downward identity and KTH_LAB', async () => {
    expect(await buildContainerEnv(container(undefined), context())).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/root',
      HOSTNAME: 'web-1',
      KTH_PORT: '8080',
      NODE_ENV: 'production',
      POD_NAME: 'web-1',
      POD_NAMESPACE: 'shop',
      POD_IP: '198.18.129.7',
      NODE_NAME: 'lab-node-1',
      KTH_LAB: 'lab',
    });
  });

  it('GIVEN env values, fieldRefs and $(VAR) references THEN values resolve in order; the container overrides the image; KTH_LAB cannot be overridden', async () => {
    const env = await buildContainerEnv(
      container([
        { name: 'KTH_PORT', value: '9000' },
        { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'URL', value: 'http://$(MY_IP):$(KTH_PORT)/$(UNDEFINED)/$$(MY_IP)' },
        { name: 'KTH_LAB', value: 'other' },
      ]),
      context(),
    );
    expect(env).toMatchObject({ KTH_PORT: '9000', MY_IP: '198.18.129.7', HOST: '198.18.0.11', APP: 'web', KTH_LAB: 'lab' });
    expect(env.URL).toBe('http://198.18.129.7:9000/$(UNDEFINED)/$(MY_IP)');
  });

  it('GIVEN resourceFieldRef limits.cpu with divisor 1m and limits.memory in Mi THEN 500 and 64', async () => {
    const env = await buildContainerEnv(
      container([
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      ]),
      context(),
    );
    expect(env).toMatchObject({ CPU: '500', MEM: '64' });
  });

  it('GIVEN configMap and secret refs THEN their values (secrets decoded by the lookup); envFrom with a prefix', async () => {
    const lookups = {
      configMap: async (_ns: string, name: string) => (name === 'cfg' ? { MODE: 'fast', 'bad key': 'x' } : undefined),
      secret: async (_ns: string, name: string) => (name === 'sec' ? { token: 's3cret' } : undefined),
    };
    const env = await buildContainerEnv(
      container(
        [
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'token' } } },
          { name: 'MISSING_OK', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } },
        ],
        { envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }] },
      ),
      context({ lookups }),
    );
    expect(env).toMatchObject({ TOKEN: 's3cret', CFG_MODE: 'fast' });
    expect(env).not.toHaveProperty('MISSING_OK');
    expect(Object.keys(env)).not.toContain('CFG_bad key');
  });

  it('GIVEN a missing ConfigMap that is not optional THEN CreateContainerConfigError naming it', async () => {
    const build = buildContainerEnv(container([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }]), context());
    await expect(build).rejects.toBeInstanceOf(ContainerConfigError);
    await expect(build).rejects.toThrow('configmap "nope" not found');
  });

  it('GIVEN an unsupported fieldRef THEN a config error listing what is supported', async () => {
    await expect(buildContainerEnv(container([{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.priority' } } }]), context())).rejects.toThrow(/not supported/);
  });
});

describe('expandVars and parseQuantity', () => {
  it('GIVEN edge cases THEN Kubernetes expansion rules', () => {
    expect(expandVars('$(A)$(B)', { A: '1' })).toBe('1$(B)');
    expect(expandVars('$$', {})).toBe('$');
    expect(expandVars('a$b $(open', { b: 'x' })).toBe('a$b $(open');
  });
  it('GIVEN quantities THEN numbers', () => {
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('1Gi')).toBe(2 ** 30);
    expect(parseQuantity('2')).toBe(2);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(() => parseQuantity('lots')).toThrow();
  });
});

describe('the API server\'s Service in every container\'s env', () => {
  it('GIVEN the kubernetes Service THEN what InClusterConfig reads and the links-style variables, under the container\'s own env', async () => {
    const env = await buildContainerEnv(container([{ name: 'KUBERNETES_SERVICE_PORT', value: '6443' }]), context({ masterService: { host: '10.96.0.1', port: 443 } }));
    expect(env).toMatchObject({
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '6443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
      KUBERNETES_PORT: 'tcp://10.96.0.1:443',
      KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
    });
    expect(await buildContainerEnv(container(undefined), context())).not.toHaveProperty('KUBERNETES_SERVICE_HOST');
  });
});
