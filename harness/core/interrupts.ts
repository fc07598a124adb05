/**
 * Cleanups to run when the user presses Ctrl-C (or the process gets SIGTERM): whatever the
 * harness made so far is removed, partial results are saved, and the CLI exits 130. Library code
 * registers an undo while it builds something and unregisters it once the thing is handed over.
 */
type Cleanup = () => Promise<void> | void;

const cleanups = new Set<Cleanup>();
let installed = false;
let interrupted = false;
let cleanupDone: Promise<void> = Promise.resolve();

export function onInterrupt(cleanup: Cleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export function wasInterrupted(): boolean {
  return interrupted;
}

/** Resolves when the cleanups started by an interrupt have finished (at once if there was none). */
export function interruptCleanup(): Promise<void> {
  return cleanupDone;
}

function install(): void {
  if (installed) return;
  installed = true;
  const handler = (signal: NodeJS.Signals) => {
    if (interrupted) return; // a second Ctrl-C while cleaning up does not abandon the cleanup
    interrupted = true;
    process.stderr.write(`\n${signal}: cleaning up what this run made…\n`);
    const pending = [...cleanups].reverse().map(async (cleanup) => {
      try {
        await cleanup();
      } catch (error) {
        process.stderr.write(`cleanup failed: ${(error as Error).message}\n`);
      }
    });
    cleanupDone = Promise.all(pending).then(() => undefined);
    void cleanupDone.then(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
