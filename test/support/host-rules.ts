import { run } from '../../harness/core/exec.ts';

/** The host namespace's whole netfilter state, to prove a lab never touched it. */
export async function hostRuleset(): Promise<string> {
  const nft = await run(['nft', 'list', 'ruleset'], { nothrow: true });
  const routes = await run(['ip', 'route', 'show', 'table', 'all'], { nothrow: true });
  return `${nft.stdout}\n--- routes ---\n${routes.stdout.split('\n').filter((l) => !/ proto kernel .*linkdown/.test(l)).join('\n')}`;
}
