/** Resolves at `epochMs`, or at once when `signal` aborts (never rejects; callers check the signal). */
export function sleepUntil(epochMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, epochMs - Date.now()));
    signal?.addEventListener('abort', done, { once: true });
  });
}
