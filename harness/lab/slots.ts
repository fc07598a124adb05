import { existsSync } from 'node:fs';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { environmentError } from '../core/errors.ts';
import { stateRoot } from '../core/paths.ts';
import { labLayout } from './layout.ts';
import { usedSlots } from './network.ts';

/**
 * Each lab needs its own host-link subnet (its "slot"). Two `lab up`s can run at once, so a slot
 * is claimed by creating `<state>/slots/<n>` exclusively (O_EXCL): only one creator can win.
 * A claim whose lab no longer has a state directory is stale (a crash) and is taken over.
 */
const SLOTS = 100;

export async function claimSlot(lab: string): Promise<number> {
  const dir = join(stateRoot(), 'slots');
  await mkdir(dir, { recursive: true });
  const linked = await usedSlots();
  for (let slot = 0; slot < SLOTS; slot += 1) {
    if (linked.has(slot)) continue;
    const file = join(dir, String(slot));
    try {
      await writeFile(file, lab, { flag: 'wx' });
      return slot;
    } catch {
      const owner = await readFile(file, 'utf8').catch(() => '');
      if (owner && owner !== lab && !existsSync(labLayout(owner).dir)) {
        await unlink(file).catch(() => {});
        slot -= 1; // retry the same slot now that the stale claim is gone
      }
    }
  }
  throw environmentError(`all ${SLOTS} lab slots on this host are taken`, { hint: 'remove labs with: kth lab down --all' });
}

export async function releaseSlot(lab: string, slot: number): Promise<void> {
  const file = join(stateRoot(), 'slots', String(slot));
  if ((await readFile(file, 'utf8').catch(() => '')) === lab) await unlink(file).catch(() => {});
}
