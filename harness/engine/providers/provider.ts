import type { DataplaneInfo } from '../../lab/dataplane/types.ts';
import type { KindEnvironment } from '../../report/model.ts';
import type { RunTarget } from '../execute.ts';
import type { specsOf } from '../plan.ts';

export type RunSpecs = ReturnType<typeof specsOf>;

/**
 * What the run pipeline needs from a provider: whether a proxy mode and a run's chaos can run
 * there (asked before any cluster exists), and a cluster in a mode for a scenario's runs. The lab
 * makes one per mode; an existing cluster is opened as it is. Every later stage (deploy, settle,
 * load and chaos, collect, check) is the engine's, the same for all.
 */
export interface OpenCluster {
  /** For people: the lab's name, or the kubeconfig context. */
  name: string;
  target: RunTarget;
  /** What carries the cluster's Service traffic (for each run's report). */
  dataplane: DataplaneInfo;
  /** Removes what this provider made for the runs (a lab; an existing cluster's run namespaces). */
  down(): Promise<void>;
  /** The line printed when --retain keeps it. */
  kept: string;
  /** A kind cluster: what the report records of it (environment.kind). */
  kind?: Omit<KindEnvironment['clusters'][number], 'proxyMode'> & { kindVersion: string; nodeImage: string };
}

export interface ClusterProvider {
  unsupported(proxyMode: string): Promise<string | undefined>;
  /** Why one run cannot run here in this mode (its chaos, its Service type), before any cluster exists; undefined when it can. */
  runUnsupported(proxyMode: string, run: RunSpecs): string | undefined;
  open(proxyMode: string, log: (line: string) => void): Promise<OpenCluster>;
}
