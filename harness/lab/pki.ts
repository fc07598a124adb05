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
    run(['openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', pki.serviceAccountKey], { purpose }).then(() =>
      run(['openssl', 'ec', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub], { purpose })),
  ]);
  return pki;
}

async function signLeaf(pki: LabPki, name: string, subject: string, extensions: string[]): Promise<void> {
  const key = join(pki.dir, `${name}.key`);
  const csr = join(pki.dir, `${name}.csr`);
  const purpose = `sign the ${name} certificate`;
  await run(['openssl', 'req', '-new', ...ecKey, '-keyout', key, '-out', csr, '-subj', subject, ...extensions], { purpose });
  await run(['openssl', 'x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-set_serial', `0x${Date.now().toString(16)}${name.length}`,
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
