/**
 * What a Ginkgo v2 JSON report (`--ginkgo.json-report`) says about each test: the fields of
 * ginkgo/types.SpecReport the summary needs. The JUnit report written beside it is kept for CI
 * systems; the JSON one is read because it carries Ginkgo's own states, not a mapping of them.
 */
export type SpecState = 'passed' | 'failed' | 'skipped' | 'pending' | 'panicked' | 'timedout' | 'interrupted' | 'aborted';

export interface SpecOutcome {
  /** The test's full name: its containers' texts and its own, space-separated (as --list-tests prints it). */
  name: string;
  state: SpecState;
  seconds: number;
  /** Ginkgo's failure message and where it was raised, for the states that failed; a test's own skip reason. */
  message?: string;
}

interface RawSpec {
  ContainerHierarchyTexts?: string[] | null;
  LeafNodeText?: string;
  LeafNodeType?: string;
  State?: string;
  RunTime?: number;
  Failure?: { Message?: string; Location?: { FileName?: string; LineNumber?: number } };
}

export function readGinkgoReport(json: string): SpecOutcome[] {
  const reports = JSON.parse(json) as { SpecReports?: RawSpec[] | null }[];
  if (!Array.isArray(reports)) throw new Error('not a Ginkgo JSON report (expected an array of suite reports)');
  return reports.flatMap((report) =>
    (report.SpecReports ?? [])
      .filter((spec) => spec.LeafNodeType === 'It')
      .map((spec) => {
        const name = [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText ?? ''].filter((text) => text !== '').join(' ');
        const state = (spec.State ?? 'failed') as SpecState;
        const where = spec.Failure?.Location?.FileName ? ` (${spec.Failure.Location.FileName}:${spec.Failure.Location.LineNumber ?? 0})` : '';
        return {
          name,
          state,
          seconds: Math.round((spec.RunTime ?? 0) / 1e7) / 100,
          ...(failed(state) && spec.Failure?.Message ? { message: `${spec.Failure.Message.trim()}${where}` } : {}),
          ...(state === 'skipped' && spec.Failure?.Message ? { message: spec.Failure.Message.trim() } : {}),
        };
      }),
  );
}

export function failed(state: SpecState): boolean {
  return state !== 'passed' && state !== 'skipped' && state !== 'pending';
}
