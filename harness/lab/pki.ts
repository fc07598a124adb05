import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../core/exec.ts';

/** Certificates and keys of one lab, generated fresh per lab with openssl (ECDSA P-256). */
export interface LabPki {
  dir: string;
  caCert: string;
  caKey: string;
  apiServerCert: string;
  apiServerKey: string;
  adminCert: string;
  adminKey: string;
  /** The API server's identity towards node agents (pods/log, as the kubelet client certificate). */
  kubeletClientCert: string;
  kubeletClientKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function createPki(dir: string, labName: string, apiServerSans: readonly string[]): Promise<LabPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = (file: string) => join(dir, file);
  const pki: LabPki = {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    apiServerCert: p('apiserver.crt'),
    apiServerKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    kubeletClientCert: p('apiserver-kubelet-client.crt'),
    kubeletClientKey: p('apiserver-kubelet-client.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
  };
  const purpose = 'generate lab certificates';
  await run(['openssl', 'req', '-x509', ...ecKey, '-keyout', pki.caKey, '-out', pki.caCert, '-days', '30', '-subj', `/CN=kth-lab-${labName}-ca`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { purpose });
  const sans = apiServerSans.map((san) => (/^[\d.]+$/.test(san) ? `IP:${san}` : `DNS:${san}`)).join(',');
  await Promise.all([
    signLeaf(pki, 'apiserver', '/CN=kube-apiserver', ['-addext', `subjectAltName=${sans}`, '-addext', 'extendedKeyUsage=serverAuth']),
    // One client identity in system:masters for the lab's own components and its user: the lab
    // measures Service traffic, not RBAC, and a single identity keeps certificate setup to one step.
    signLeaf(pki, 'admin', '/O=system:masters/CN=kubernetes-admin', ['-addext', 'extendedKeyUsage=clientAuth']),
    // As kubeadm names it; node agents serve /containerLogs to this identity only.
    signLeaf(pki, 'apiserver-kubelet-client', `/O=system:masters/CN=${KUBELET_CLIENT_CN}`, ['-addext', 'extendedKeyUsage=clientAuth']),
    run(['openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', pki.serviceAccountKey], { purpose }).then(() =>
      run(['openssl', 'ec', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub], { purpose })),
  ]);
  return pki;
}

/** The Common Name of the API server's kubelet client certificate: the one caller node agents authorize. */
export const KUBELET_CLIENT_CN = 'kube-apiserver-kubelet-client';

/** A node agent's serving certificate and key (as a kubelet's, for its InternalIP), in the lab's PKI directory. */
export interface NodeServingCert {
  cert: string;
  key: string;
  caCert: string;
}

/** Signs the serving certificate of one node's agent with the lab CA: the API server verifies it by the node's IP. */
export async function signNodeServingCert(pkiDir: string, nodeName: string, nodeIp: string): Promise<NodeServingCert> {
  const pki = { dir: pkiDir, caCert: join(pkiDir, 'ca.crt'), caKey: join(pkiDir, 'ca.key') };
  const name = `kubelet-${nodeName}`;
  await signLeaf(pki, name, `/O=system:nodes/CN=system:node:${nodeName}`,
    ['-addext', `subjectAltName=IP:${nodeIp},DNS:${nodeName}`, '-addext', 'extendedKeyUsage=serverAuth']);
  return { cert: join(pkiDir, `${name}.crt`), key: join(pkiDir, `${name}.key`), caCert: pki.caCert };
}

async function signLeaf(pki: Pick<LabPki, 'dir' | 'caCert' | 'caKey'>, name: string, subject: string, extensions: string[]): Promise<void> {
  const key = join(pki.dir, `${name}.key`);
  const csr = join(pki.dir, `${name}.csr`);
  const purpose = `sign the ${name} certificate`;
  await run(['openssl', 'req', '-new', ...ecKey, '-keyout', key, '-out', csr, '-subj', subject, ...extensions], { purpose });
  await run(['openssl', 'x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-set_serial', `0x${randomBytes(15).toString('hex')}`,
    '-days', '30', '-copy_extensions', 'copyall', '-out', join(pki.dir, `${name}.crt`)], { purpose });
}

/** A kubeconfig with the certificates embedded, so it can be copied off the lab's state dir. */
export async function writeKubeconfig(path: string, pki: LabPki, server: string, clusterName: string): Promise<void> {
  const b64 = async (file: string) => (await readFile(file)).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server, 'certificate-authority-data': await b64(pki.caCert) } }],
    users: [{ name: `${clusterName}-admin`, user: { 'client-certificate-data': await b64(pki.adminCert), 'client-key-data': await b64(pki.adminKey) } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: `${clusterName}-admin` } }],
    'current-context': clusterName,
  };
  await writeFile(path, stringify(config), { mode: 0o600 });
}
