import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { parse } from 'yaml';
import { nightlyWorkflowSource } from '../../../harness/cli/commands/init.ts';
import { registerDoctor } from '../../../harness/cli/commands/doctor.ts';
import { registerReport } from '../../../harness/cli/commands/report.ts';
import { registerRun } from '../../../harness/cli/commands/run.ts';
import { repoRoot } from '../../../harness/core/paths.ts';
import { requireBinary } from '../../../harness/setup/binaries.ts';

// The example nightly workflow, and the template `kth init` writes into a depending project,
// checked by the real actionlint that setup builds from its Go module (harness/setup/versions.ts).
// actionlint also runs shellcheck on every run: script when shellcheck is on PATH (and skips that
// rule otherwise), so the verdict may be stricter on a host that has it.

const workflowPath = join(repoRoot, '.github/workflows/nightly.yml');
/** Where the depending project has this package: every harness file the template names is under it. */
const installed = 'node_modules/kube-traffic-harness/';

interface Finding {
  message: string;
  filepath: string;
  line: number;
  kind: string;
}

/** actionlint's findings as JSON (exit 1 when there are any, 0 when none). */
function actionlint(file: string): Promise<{ code: number; findings: Finding[]; stderr: string }> {
  const binary = requireBinary('actionlint');
  return new Promise((resolve) => {
    execFile(binary, ['-format', '{{json .}}', file], { cwd: repoRoot }, (error, stdout, stderr) => {
      const code = error ? Number(error.code) : 0;
      resolve({ code, findings: stdout.trim() ? (JSON.parse(stdout) as Finding[]) : [], stderr });
    });
  });
}

describe('the example nightly workflow', () => {
  let dir: string;
  let workflow: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-nightly-'));
    workflow = await readFile(workflowPath, 'utf8');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['.github/workflows/nightly.yml', workflowPath],
    ["kth init's template (harness/cli/templates/nightly.yml)", nightlyWorkflowSource],
  ])('GIVEN %s WHEN actionlint checks it THEN it finds nothing', async (_name, path) => {
    const result = await actionlint(path);
    expect(result.findings).toEqual([]);
    expect(result.code).toBe(0);
  }, 60_000);

  it('GIVEN a copy whose job needs a job that does not exist THEN actionlint reports it (the check can fail)', async () => {
    const broken = join(dir, 'undefined-needs.yml');
    await writeFile(broken, replaceOnce(workflow, 'needs: [baseline, setup]', 'needs: [baseline, setup, build]'));
    const result = await actionlint(broken);
    expect(result.code).toBe(1);
    expect(result.findings.map((f) => f.kind)).toContain('job-needs');
    expect(result.findings.map((f) => f.message).join('\n')).toMatch(/"build"/);
  }, 60_000);

  it('GIVEN a copy reading an output the baseline job does not have THEN actionlint reports the expression', async () => {
    const broken = join(dir, 'bad-expression.yml');
    await writeFile(broken, replaceOnce(workflow, "if: needs.baseline.outputs.run-id != ''", "if: needs.baseline.outputs.runid != ''"));
    const result = await actionlint(broken);
    expect(result.code).toBe(1);
    expect(result.findings.map((f) => f.kind)).toContain('expression');
    expect(result.findings.map((f) => f.message).join('\n')).toMatch(/runid/);
  }, 60_000);

  it.each([
    ['.github/workflows/nightly.yml', workflowPath],
    ["kth init's template", nightlyWorkflowSource],
  ])('GIVEN every kth command line in %s THEN its subcommand and each of its flags exist in this CLI', async (_name, path) => {
    const program = new Command('kth');
    for (const register of [registerRun, registerReport, registerDoctor]) register(program);
    const doc = parse(await readFile(path, 'utf8')) as Workflow;
    const scripts = Object.values(doc.jobs).flatMap((job) => job.steps.map((step) => step.run ?? ''));
    // kth only ever through the project's own install: no bare `kth`, no `npx kth` that could fetch one.
    for (const script of scripts) expect(script.replace(/npx --no kth /g, '')).not.toMatch(/(^|[\s;&|(])(npx )?kth /);
    const lines = scripts.flatMap((script) => [...script.matchAll(/npx --no kth ([^\n|;&]+)/g)].map((m) => m[1]!.trim()));
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const used = new Set<string>();
    for (const line of lines) {
      const words = line.split(/\s+/);
      let command = program;
      for (const word of words) {
        const sub = command.commands.find((c) => c.name() === word);
        if (!sub) break;
        command = sub;
      }
      expect(command).not.toBe(program);
      used.add(command.name());
      const known = command.options.map((o) => o.long);
      for (const flag of words.filter((w) => w.startsWith('--'))) expect({ line, flag, known: known.includes(flag) }).toEqual({ line, flag, known: true });
    }
    expect([...used].sort()).toEqual(['diff', 'doctor', 'run', 'trend']);
  });
});

describe("kth init's nightly workflow template, for a project that depends on kube-traffic-harness", () => {
  let template: string;
  beforeAll(async () => {
    template = await readFile(nightlyWorkflowSource, 'utf8');
  });

  it('GIVEN the template THEN it names no file that only this repository has: harness files only under node_modules/kube-traffic-harness/, no npm scripts of ours', () => {
    for (const match of template.matchAll(/[\w./-]*(?<![\w-])harness\/[\w./*-]*/g)) {
      expect({ path: match[0], installed: match[0].startsWith(`${installed}harness/`) }).toEqual({ path: match[0], installed: true });
    }
    expect(template).not.toMatch(/npm run /);
    expect(template).not.toMatch(/node harness\/bin\/kth\.mjs/);
    // The scenarios it names are the one `kth init` writes.
    expect([...new Set(template.match(/scenarios\/[\w./-]+/g))]).toEqual(['scenarios/sample.ts']);
  });

  it('GIVEN the package files the template names THEN each exists here and package.json "files" ships it', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { files: string[] };
    const named = [...new Set([...template.matchAll(/node_modules\/kube-traffic-harness\/([\w./-]+)/g)].map((m) => m[1]!.replace(/\/$/, '')))];
    expect(named.sort()).toEqual(['docs/nightly.md', 'harness/setup/setup.sh', 'harness/setup/versions.ts', 'harness/workloads/go', 'harness/workloads/go/go.sum']);
    for (const path of named) {
      expect([path, existsSync(join(repoRoot, path))]).toEqual([path, true]);
      expect([path, pkg.files.includes(`${path.split('/')[0]}/`)]).toEqual([path, true]);
    }
  });

  it('GIVEN the template THEN npm ci comes before every cache step (their keys hash the installed package) and before setup', () => {
    const doc = parse(template) as Workflow;
    for (const name of ['setup', 'run']) {
      const steps = doc.jobs[name]!.steps;
      const ci = steps.findIndex((step) => step.run === 'npm ci --no-audit --no-fund');
      const caches = steps.flatMap((step, index) => (step.uses?.startsWith('actions/cache') ? [index] : []));
      const setup = steps.findIndex((step) => step.run === `bash ${installed}harness/setup/setup.sh`);
      expect({ name, ci: ci >= 0, caches: caches.length > 0, setup: setup >= 0 }).toEqual({ name, ci: true, caches: true, setup: true });
      expect({ name, ciFirst: caches.every((index) => index > ci) && setup > ci }).toEqual({ name, ciFirst: true });
    }
  });

  it("GIVEN the template and this repository's workflow THEN they are the same jobs and steps but for the differences a depending project needs", async () => {
    // A change to .github/workflows/nightly.yml fails here until the template has it too.
    const ours = parse(await readFile(workflowPath, 'utf8')) as Workflow;
    const theirs = parse(template) as Workflow;
    for (const job of Object.values(theirs.jobs)) {
      // Their setup and run jobs install first (the trend job already runs npm ci in ours too).
      if (job.container) job.steps = job.steps.filter((step) => step.run !== 'npm ci --no-audit --no-fund');
    }
    const asOurs = JSON.parse(
      JSON.stringify(theirs, (_key, value: unknown) =>
        typeof value === 'string'
          ? value
              .replace(`bash ${installed}harness/setup/setup.sh`, 'npm run setup')
              .replaceAll(installed, '')
              .replaceAll('scenarios/sample.ts', 'scenarios/keepalive-imbalance.ts')
          : value,
      ),
    ) as Workflow;
    expect(withoutScriptComments(asOurs)).toEqual(withoutScriptComments(ours));
  });
});

interface Workflow {
  jobs: Record<string, { container?: unknown; steps: { run?: string; uses?: string }[] }>;
}

/** Comment lines of run: scripts say things differently for the two audiences; the commands must not. */
function withoutScriptComments(workflow: Workflow): Workflow {
  return JSON.parse(
    JSON.stringify(workflow, (key, value: unknown) =>
      key === 'run' && typeof value === 'string' ? value.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n') : value,
    ),
  ) as Workflow;
}

function replaceOnce(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}
