/**
 * The package's public API: what a scenario kept in another repository imports from
 * 'kube-traffic-harness'. Keep it small; test/unit/index.test.ts freezes its runtime surface.
 *
 * Why the package ships this .ts file and not compiled .js: scenarios only run under `kth`,
 * whose launcher (bin/kth.mjs) registers tsx, and the runtime code resolves files next to itself
 * (repoRoot in core/paths.ts, package.json in core/version.ts) — a compiled copy elsewhere would
 * resolve them wrongly. Types are another matter: `npm pack` (prepack) emits declarations into
 * dist/types/, and package.json's `exports` points TypeScript there, so a user's editor or tsc reads
 * .d.ts (skipped by skipLibCheck, no allowImportingTsExtensions needed) instead of type-checking our
 * sources under their compiler settings.
 */
export { defineScenario } from './engine/scenario.ts';
export type { ChaosSpec, CheckSpec, Duration, LoadSpec, ProxyMode, ScenarioSpec, VariantSpec, WorkloadSpec } from './engine/types.ts';
export type { CiliumOptions, IpvsOptions } from './lab/spec.ts';
export { reportSchemaVersion } from './report/model.ts';
export type { CheckResult, Report, RunKernel, RunReport, RunStatus, SeriesPoint, TimelineEntry } from './report/model.ts';
export type { RunSummary } from './analysis/run-summary.ts';
export { ExitCode } from './core/exit-codes.ts';
