import { type DockerEngine as HarnessEngine, useDockerEngine } from '../../harness/docker/engine.ts';

/** A Docker engine for a test: the running one, or the harness's own (harness/docker/engine.ts), left again by stop(). */
export interface DockerEngine extends AsyncDisposable {
  readonly serverVersion: string;
  /** Pid of the dockerd the harness started; undefined when an engine was already running. */
  readonly startedPid: number | undefined;
  stop(): Promise<void>;
}

export async function ensureDockerEngine(options: { privileged?: boolean } = {}): Promise<DockerEngine> {
  const engine: HarnessEngine = await useDockerEngine({ purpose: 'the test', log: () => undefined, ...options });
  return { serverVersion: engine.serverVersion, startedPid: engine.startedPid, stop: engine.release, [Symbol.asyncDispose]: engine.release };
}
