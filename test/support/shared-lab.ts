import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { type Cluster, connect, waitForNodesFit } from '../../harness/kube/cluster.ts';
import { cleanupLabs, labDown, type LabInfo, labUp, listLabs } from '../../harness/lab/lab.ts';
import { labLayout } from '../../harness/lab/layout.ts';
import { type LabProxyMode, proxyModes } from '../../harness/lab/spec.ts';
import { eventually } from './eventually.ts';
import { labOf } from './lab-sequencer.mjs';
import { labResidue, noResidue } from './residue.ts';

/**
 * One lab per proxy mode and node count for a whole e2e run, shared by the files that only need a
 * lab to run on. A file declares which in its docblock, `@lab <mode>/<nodes>` (e.g. `@lab
 * nftables/3`), and calls `useSharedLab()`; the test sequencer (lab-sequencer.mjs) reads the same
 * pragma and runs the files of one lab back to back, so each lab boots once per run and at most
 * one sits on the machine at a time (an idle lab's processes would take CPU from the measurements
 * of the next file on two cores).
 *
 * The lab belongs to the jest process (its owner pid): `kth cleanup` and every `kth run`'s crash
 * recovery leave it while jest runs and remove it once jest is gone. Between files it is reset: a
 * file's namespaces are deleted when it ends, and the next file gets the lab only with every node
 * Ready, untainted and schedulable; one that cannot be reset is replaced by a fresh lab.
 */
export interface SharedLabKey {
  proxyMode: LabProxyMode;
  nodes: number;
}

const pragmaPattern = /^([a-z]+)\/([1-9]\d?)$/;
const NAME_PREFIX = 's-';

/** The `@lab mode/nodes` pragma of a test file's leading docblock, or undefined without one. */
export function sharedLabPragma(source: string, file = 'the test file'): SharedLabKey | undefined {
  const text = labOf(source);
  if (text === undefined) return undefined;
  const match = pragmaPattern.exec(text.trim());
  if (!match || !proxyModes.includes(match[1] as LabProxyMode)) throw new Error(`${file}: @lab '${text}' is not <mode>/<nodes> (e.g. @lab iptables/3; modes: ${proxyModes.join(', ')})`);
  return { proxyMode: match[1] as LabProxyMode, nodes: Number(match[2]) };
}

/** This jest process's shared lab for a key: the pid makes parallel jest runs (or workers) keep their own. */
export function sharedLabName({ proxyMode, nodes }: SharedLabKey, pid = process.pid): string {
  return `${NAME_PREFIX}${proxyMode.slice(0, 3)}${nodes}-${pid.toString(36)}`;
}

/** Whether a lab name is one of this process's shared labs. */
export function isOwnSharedLab(name: string, pid = process.pid): boolean {
  return name.startsWith(NAME_PREFIX) && name.endsWith(`-${pid.toString(36)}`);
}

/** The shared lab this test file declares (`@lab`), read from the file jest is running. */
export function declaredSharedLab(): SharedLabKey {
  const file = expect.getState().testPath;
  if (!file) throw new Error('useSharedLab() runs only inside a jest test file');
  const key = sharedLabPragma(readFileSync(file, 'utf8'), file);
  if (!key) throw new Error(`${file} calls useSharedLab() but declares no lab: add "@lab <mode>/<nodes>" (e.g. iptables/3) to its leading docblock`);
  return key;
}

/** Namespaces a lab starts with; every other one was made by a test and goes when the file ends. */
const isLabNamespace = (name: string) => name === 'default' || name.startsWith('kube-');

async function testNamespaces(cluster: Cluster): Promise<string[]> {
  const list = await cluster.core.listNamespace();
  return list.items.map((ns) => ns.metadata?.name ?? '').filter((name) => name && !isLabNamespace(name));
}

/** Deletes the namespaces tests made and waits until they are gone (their pods' grace periods included). */
async function removeTestNamespaces(lab: LabInfo): Promise<void> {
  const cluster = connect(lab.kubeconfig);
  const made = await testNamespaces(cluster);
  await Promise.all(made.map((name) => cluster.core.deleteNamespace({ name }).catch(() => undefined)));
  await eventually(`lab ${lab.spec.name}: the tests' namespaces deleted`, 120_000, async () => {
    const left = await testNamespaces(cluster);
    return left.length === 0 ? true : `still there: ${left.join(', ')}`;
  });
}

/** The lab as a file finds it when it is fit for the next file: its nodes Ready and schedulable, no test namespace left. */
async function fitForNextFile(lab: LabInfo): Promise<void> {
  const cluster = connect(lab.kubeconfig);
  const nodes = (await cluster.core.listNode()).items.map((node) => node.metadata?.name ?? '');
  if (nodes.length !== lab.spec.nodes) throw new Error(`lab ${lab.spec.name} has ${nodes.length} nodes registered, not ${lab.spec.nodes}`);
  await waitForNodesFit(cluster, nodes, 90_000);
  const left = await testNamespaces(cluster);
  if (left.length > 0) throw new Error(`lab ${lab.spec.name} still has test namespaces: ${left.join(', ')}`);
}

/** Takes a shared lab down; a lab used by many files must go as completely as a fresh one (lifecycle.test.ts). */
async function downShared(name: string): Promise<void> {
  await labDown(name);
  const residue = await labResidue(name);
  if (!isDeepStrictEqual(residue, noResidue)) throw new Error(`shared lab ${name} left residue after lab down: ${JSON.stringify(residue)}`);
}

/** Brings up (or reuses) the shared lab for a key, removing this process's shared labs of other keys first. */
async function acquireSharedLab(key: SharedLabKey, log: (line: string) => void = () => undefined): Promise<LabInfo> {
  const name = sharedLabName(key);
  // Labs whose owner died (a jest run killed earlier) go first: they hold memory and addresses.
  for (const removed of await cleanupLabs()) log(`orphaned lab ${removed.lab}: removed`);
  let reusable: LabInfo | undefined;
  for (const lab of await listLabs()) {
    if (!isOwnSharedLab(lab.name)) continue;
    if (lab.name !== name || lab.state !== 'ready' || !lab.spec) {
      log(`shared lab ${lab.name}: removing (${lab.name === name ? lab.state : 'another lab is next'})`);
      await downShared(lab.name);
      continue;
    }
    const layout = labLayout(lab.name);
    reusable = { spec: lab.spec, status: lab.status, kubeconfig: layout.kubeconfig, internalKubeconfig: layout.internalKubeconfig, stateDir: layout.dir };
  }
  if (reusable) {
    try {
      await fitForNextFile(reusable);
      log(`shared lab ${name}: reused`);
      return reusable;
    } catch (error) {
      log(`shared lab ${name}: replacing it (${(error as Error).message})`);
      await downShared(name);
    }
  }
  const started = performance.now();
  // Owned by this process (not startLab's self-removing handle): files share it, none takes it down.
  const lab = await labUp({ name, nodes: key.nodes, proxyMode: key.proxyMode, ownerPid: process.pid });
  log(`shared lab ${name}: up in ${((performance.now() - started) / 1000).toFixed(1)} s (wall clock)`);
  return lab;
}

/**
 * The lab this file declares (`@lab mode/nodes`), for the file's tests: up before its first test,
 * reset after its last. Call at the top of the file or of its outer describe; read the lab in tests.
 */
export function useSharedLab(): () => LabInfo {
  const key = declaredSharedLab();
  let lab: LabInfo | undefined;
  const log = (line: string) => process.stderr.write(`[shared-lab] ${line}\n`);
  beforeAll(async () => {
    lab = await acquireSharedLab(key, log);
  }, 600_000);
  afterAll(async () => {
    if (!lab) return;
    // A lab whose reset fails goes now: the next file must not inherit a half-cleared one.
    await removeTestNamespaces(lab).catch(async (error: Error) => {
      log(`shared lab ${lab!.spec.name}: removing it, its reset failed (${error.message})`);
      await downShared(lab!.spec.name);
    });
  }, 180_000);
  return () => {
    if (!lab) throw new Error(`the shared ${key.proxyMode}/${key.nodes} lab is not up (its beforeAll failed or has not run)`);
    return lab;
  };
}

/** Removes every shared lab of this process (the e2e project's global teardown); throws on residue. */
export async function removeSharedLabs(log: (line: string) => void = () => undefined): Promise<void> {
  for (const lab of await listLabs()) {
    if (!isOwnSharedLab(lab.name)) continue;
    await downShared(lab.name);
    log(`shared lab ${lab.name}: removed at the end of the run`);
  }
}
