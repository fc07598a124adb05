import { run } from '../../core/exec.ts';
import { renderDelete } from './ruleset.ts';

/**
 * Loads rulesets into the current network namespace (the controller runs inside the lab's
 * load-balancer namespace), or into `netns` when given (tests, tools on the host).
 */
const nftArgv = (netns: string | undefined, ...args: string[]) => (netns ? ['ip', 'netns', 'exec', netns, 'nft', ...args] : ['nft', ...args]);

/** Loads a ruleset as one transaction; throws an environment error with nft's message on failure. */
export async function loadRuleset(ruleset: string, netns?: string): Promise<void> {
  await run(nftArgv(netns, '-f', '-'), { input: ruleset, purpose: 'load the lab load balancer nft table', timeoutMs: 10_000 });
}

/** Checks a ruleset without loading it (`nft -c`). */
export async function checkRuleset(ruleset: string, netns?: string): Promise<void> {
  await run(nftArgv(netns, '-c', '-f', '-'), { input: ruleset, purpose: 'check the lab load balancer nft table', timeoutMs: 10_000 });
}

/** Removes the table; a table that is already gone is fine. */
export async function deleteTable(table: string, netns?: string): Promise<void> {
  await run(nftArgv(netns, '-f', '-'), { input: renderDelete(table), purpose: `delete nft table ip ${table}`, timeoutMs: 10_000, nothrow: true });
}

/** The table as nft lists it, or undefined when it does not exist. */
export async function listTable(table: string, netns?: string): Promise<string | undefined> {
  const result = await run(nftArgv(netns, 'list', 'table', 'ip', table), { nothrow: true, timeoutMs: 10_000 });
  return result.exitCode === 0 ? result.stdout : undefined;
}
