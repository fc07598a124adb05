/** Polls `check` (bounded in time) until it returns true; fails with its last answer. */
export async function eventually(what: string, timeoutMs: number, check: () => Promise<true | string>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = 'not checked';
  while (performance.now() < deadline) {
    const verdict = await check();
    if (verdict === true) return;
    last = verdict;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000}s (${last})`);
}
