import { run } from '../../harness/core/exec.ts';

/** The host namespace's whole netfilter state, to prove a lab never touched it. */
export async function hostRuleset(): Promise<string> {
  const nft = await run(['nft', 'list', 'ruleset'], { nothrow: true });
  const routes = await run(['ip', 'route', 'show', 'table', 'all'], { nothrow: true });
  // Other labs' host links (dev kth…) come and go with them; each lab's own link is checked by name.
  const ours = routes.stdout.split('\n').filter((l) => !/ dev kth[0-9a-f]{8}\b/.test(l) && !/ proto kernel .*linkdown/.test(l));
  return `${nft.stdout}\n--- routes ---\n${ours.join('\n')}`;
}
