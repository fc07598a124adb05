// The e2e project's global teardown: the last shared lab goes when jest is done, leaving nothing
// behind (shared-lab.ts; it throws on residue, which fails the run).
import { register } from 'tsx/esm/api';

export default async function removeSharedLabsAtExit() {
  register();
  const { removeSharedLabs } = await import('./shared-lab.ts');
  await removeSharedLabs((line) => process.stderr.write(`[shared-lab] ${line}\n`));
}
