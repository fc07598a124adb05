import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { badInput } from '../core/errors.ts';
import { reportSchemaVersion } from './model.ts';

/**
 * The part of report.json that `kth report diff` reads, checked before use: a report from another
 * tool, a truncated file or a hand edit must fail with where it is wrong (exit 2), not with a
 * TypeError halfway through. Every other field is allowed and dropped (z.object strips): readers
 * written later may add fields without breaking this one.
 */
const nullableNumber = z.number().nullable();

const checkSchema = z.object({
  name: z.string(),
  expect: z.string().optional(),
  pass: z.boolean(),
  value: nullableNumber,
  threshold: z.number(),
});

const runSchema = z.object({
  proxyMode: z.string().min(1),
  variant: z.string().min(1),
  status: z.enum(['passed', 'failed', 'error', 'unsupported']),
  reason: z.string().optional(),
  checks: z.array(checkSchema),
  errors: z.object({ total: z.number() }).optional(),
  latencyMs: z.object({ p50: nullableNumber, p99: nullableNumber }).optional(),
  metrics: z
    .object({
      jainIndex: nullableNumber.optional(),
      chiSquareP: nullableNumber.optional(),
      chiSquareLowerP: nullableNumber.optional(),
      maxMinRatio: nullableNumber.optional(),
      starvedPods: z.array(z.string()).optional(),
      rebalanceSeconds: nullableNumber.optional(),
    })
    .optional(),
});

export const diffableReportSchema = z
  .object({
    schemaVersion: z
      .number()
      .int()
      .min(1)
      .max(reportSchemaVersion, { message: `schema version is newer than this kth reads (${reportSchemaVersion}): use the kth that wrote it` }),
    runId: z.string(),
    scenario: z.object({ name: z.string() }),
    runs: z.array(runSchema),
    // Optional (added within schemaVersion 1): a sweep's pick per proxy mode; null when none qualified.
    recommendations: z.array(z.object({ proxyMode: z.string().min(1), subject: z.string(), variant: z.string().nullable(), text: z.string() })).optional(),
  })
  .superRefine((report, context) => {
    // Runs are matched by (proxyMode, variant): two with the same key would make the diff ambiguous.
    const seen = new Map<string, number>();
    report.runs.forEach((run, i) => {
      const key = `${run.proxyMode}/${run.variant}`;
      const first = seen.get(key);
      if (first !== undefined) context.addIssue({ code: 'custom', path: ['runs', i], message: `duplicate run ${key} (also runs[${first}])` });
      else seen.set(key, i);
    });
  });

/** What the diff needs of a report; a full `Report` satisfies it. */
export type DiffableReport = z.infer<typeof diffableReportSchema>;

/** `runs[1].checks[0].pass` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}${out ? '.' : ''}${String(key)}`), '') || '(top level)';
}

/** Reads and validates a report.json; every problem is a bad-input error naming the file and the field. */
export async function readDiffableReport(file: string): Promise<DiffableReport> {
  const hint = 'pass the report.json of a kth run (<out>/<run-id>/report.json)';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw badInput(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { where: file, hint, cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw badInput(`${file} is not JSON: ${(error as Error).message}`, { where: file, hint });
  }
  const result = diffableReportSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${formatPath(issue.path)}: ${issue.message}`);
    throw badInput(`${file} is not a valid report (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.join('\n')}`, { where: file, hint });
  }
  return result.data;
}
