/**
 * Cleanups to run when the user presses Ctrl-C (or the process gets SIGTERM): whatever the
 * harness made so far is removed, partial results are saved, and the CLI exits 130. Library code
 * registers an undo while it builds something and unregisters it once the thing is handed over.
 */
type Cleanup = () => Promise<void> | void;

const cleanups = new Set<Cleanup>();
let installed = false;
let interrupted = false;

export function onInterrupt(cleanup: Cleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export function wasInterrupted(): boolean {
  return interrupted;
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
    void Promise.all(pending).then(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
