import { toMs } from '../core/duration.ts';
import type { Recommendation, RunReport } from '../report/model.ts';
import { evaluateChecks } from './checks.ts';
import type { RecommendSetting, RecommendSpec, ScenarioSpec, WorkloadSpec } from './types.ts';

/**
 * A sweep's recommendation (ScenarioSpec `recommend`), per proxy mode: the first candidate, in
 * order of preference, whose run qualified — passed every check of its variant and every
 * `require`. Computed from the report's runs and the scenario as written, so it can be recomputed
 * whenever the report is rewritten (a partial report says which candidates were not measured).
 */

/** Settings that are counts; every other RecommendSetting is a duration. */
const countSettings = new Set<RecommendSetting>(['replicas', 'maxRequestsPerConnection']);

/** A duration as written in scenarios: whole seconds as '2s', the rest in ms. */
const showMs = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

interface Candidate {
  variant: string;
  /** The ordering value (ms or a count); undefined when ordered by a list of names. */
  value?: number;
  settings: Record<string, string>;
}

/** The candidates in order of preference, with the settings quoted for each, as the scenario writes them. */
export function candidatesOf(spec: ScenarioSpec, rule: RecommendSpec): Candidate[] {
  const variants = spec.variants ?? [{ name: 'default' }];
  const workloadOf = (name: string): Partial<WorkloadSpec> => ({ ...spec.workload, ...variants.find((variant) => variant.name === name)?.workload });
  const numberOf = (workload: Partial<WorkloadSpec>, setting: RecommendSetting): number | undefined => {
    const value = workload[setting];
    return value === undefined ? undefined : typeof value === 'number' ? value : toMs(value, `workload.${setting}`);
  };
  const shown = rule.quote ?? [];
  const keys = 'smallest' in rule.by ? [rule.by.smallest, ...shown.filter((key) => key !== (rule.by as { smallest: string }).smallest)] : shown;
  const settingsOf = (name: string): Record<string, string> => {
    const workload = workloadOf(name);
    const settings: Record<string, string> = {};
    for (const key of keys) {
      const value = numberOf(workload, key);
      if (value !== undefined) settings[key] = countSettings.has(key) ? String(value) : showMs(value);
    }
    return settings;
  };
  if ('variants' in rule.by) return rule.by.variants.map((variant) => ({ variant, settings: settingsOf(variant) }));
  const setting = rule.by.smallest;
  return variants
    .map((variant, index) => ({ variant: variant.name, index, value: numberOf(workloadOf(variant.name), setting) }))
    .filter((candidate): candidate is { variant: string; index: number; value: number } => candidate.value !== undefined)
    .sort((a, b) => a.value - b.value || a.index - b.index)
    .map(({ variant, value }) => ({ variant, value, settings: settingsOf(variant) }));
}

/** Whether a run qualifies: true, false (with why), or null when it was not measured. */
function outcome(run: RunReport | undefined, require: readonly string[]): { qualified: boolean | null; why?: string } {
  if (!run) return { qualified: null, why: 'not run' };
  if (run.status === 'error' || run.status === 'unsupported') return { qualified: null, why: `${run.status}${run.reason ? `: ${run.reason}` : ''}` };
  const failed = [
    ...run.checks.filter((check) => !check.pass).map((check) => `check '${check.name}' failed${check.note ? ` (${check.note})` : ''}`),
    ...evaluateChecks(run, require.map((expect) => ({ name: expect, expect })))
      .filter((check) => !check.pass)
      .map((check) => `${check.expect} does not hold${check.note ? ` (${check.note})` : ''}`),
  ];
  return failed.length > 0 ? { qualified: false, why: failed.join('; ') } : { qualified: true };
}

const settingsText = (settings: Record<string, string>): string =>
  Object.entries(settings)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');

/** Per proxy mode (in the order the runs have them), or undefined when the scenario asks for none. */
export function recommend(spec: ScenarioSpec, runs: readonly RunReport[], options: { timeScale: number }): Recommendation[] | undefined {
  const rule = spec.recommend;
  if (!rule) return undefined;
  const candidates = candidatesOf(spec, rule);
  const require = rule.require ?? [];
  const smallest = 'smallest' in rule.by ? rule.by.smallest : undefined;
  const order = smallest ? `by ascending ${smallest}` : 'in order of preference';
  const rules = `A candidate qualifies when its run passed every check of its variant${require.length > 0 ? ` and ${require.join(' and ')}` : ''}.`;
  const scaled = options.timeScale !== 1 ? ` Settings as the scenario writes them; this report ran its clock at time scale ${options.timeScale}.` : '';
  const modes = [...new Set(runs.map((run) => run.proxyMode))];
  return modes.map((proxyMode): Recommendation => {
    const judged = candidates.map((candidate) => ({ ...candidate, ...outcome(runs.find((run) => run.proxyMode === proxyMode && run.variant === candidate.variant), require) }));
    const pickIndex = judged.findIndex((candidate) => candidate.qualified === true);
    const pick = pickIndex >= 0 ? judged[pickIndex]! : undefined;
    const label = (candidate: Candidate) => (smallest ? `${candidate.variant} (${candidate.settings[smallest]})` : candidate.variant);
    // Candidates not measured ahead of the pick (or anywhere, without one): a better one may exist.
    const unmeasured = judged.slice(0, pick ? pickIndex : judged.length).filter((candidate) => candidate.qualified === null);
    const caveat = unmeasured.length > 0 ? ` Not measured: ${unmeasured.map((candidate) => `${label(candidate)} — ${candidate.why}`).join('; ')}; ${pick ? `a ${smallest ? 'smaller' : 'more preferred'} candidate may qualify` : 'it may qualify'}.` : '';
    let text: string;
    if (pick) {
      const settings = settingsText(pick.settings);
      text = smallest
        ? `${rule.subject}: ${settings} (variant ${pick.variant}) — the smallest tried that ${rule.goal}.${caveat}`
        : `${rule.subject}: variant ${pick.variant}${settings ? ` (${settings})` : ''} — the first in order of preference that ${rule.goal}.${caveat}`;
    } else if (judged.some((candidate) => candidate.qualified === false)) {
      text = `${rule.subject}: none of the candidates tried (${judged.map(label).join(', ')}) ${rule.goal}.${caveat}`;
    } else {
      text = `${rule.subject}: no recommendation — ${judged.length === 0 ? 'the scenario has no candidate' : 'no candidate was measured'}.${caveat}`;
    }
    const listed = judged.map((candidate) => `${label(candidate)}: ${candidate.qualified === true ? 'qualified' : candidate.qualified === false ? `no — ${candidate.why}` : `not measured — ${candidate.why}`}`);
    return {
      proxyMode,
      subject: rule.subject,
      variant: pick?.variant ?? null,
      text,
      basis: `Candidates ${order}: ${listed.join('; ') || 'none'}. ${rules}${scaled}`,
      candidates: judged.map(({ variant, settings, qualified, why }) => ({ variant, settings, qualified, ...(why !== undefined ? { why } : {}) })),
    };
  });
}
