import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { badInput, environmentError } from '../../core/errors.ts';
import { repoRoot } from '../../core/paths.ts';
import { scenarioCompilerOptions } from '../../engine/typecheck.ts';

/**
 * The workflow `kth init` writes, read from where the package is installed. Not this repository's
 * .github/workflows/nightly.yml: that one runs `npm run setup` and hashes harness/ files, which a
 * depending project does not have. The template keeps its jobs and steps and differs where a
 * depending project must: `npm ci` first, setup from node_modules/kube-traffic-harness/, cache keys
 * from the installed package's pins, scenarios/sample.ts by default (docs/nightly.md, "In your own
 * repository"; test/integration/setup/nightly-workflow.test.ts keeps the two in step).
 */
export const nightlyWorkflowSource = join(repoRoot, 'harness/cli/templates/nightly.yml');

const sampleScenario = `/**
 * sample — a few keep-alive connections pin traffic to a few pods; a connection per request spreads it.
 *
 * Check it without a cluster:  npx kth plan scenarios/sample.ts
 * Run it on a lab cluster:     sudo npx kth run scenarios/sample.ts   (root; see the package README)
 */
import { defineScenario } from 'kube-traffic-harness';

export default defineScenario({
  name: 'sample',
  description: 'Two persistent HTTP connections over three pods leave one pod idle; short-lived connections spread requests.',
  workload: { server: 'http', replicas: 3 },
  load: [{ name: 'client', protocol: 'http', model: 'persistent', connections: 2, executor: 'constant-arrival-rate', rate: 100, duration: '30s' }],
  variants: [
    { name: 'persistent', description: 'baseline: 2 keep-alive connections for the whole run' },
    { name: 'short-lived', description: 'a new connection per request', load: { client: { model: 'short-lived', connections: 8 } } },
  ],
  checks: [
    { name: 'baseline is skewed', expect: 'metrics.jainIndex < 0.8', variants: ['persistent'] },
    { name: 'fair shares', expect: 'metrics.chiSquareP >= 0.001', variants: ['short-lived'] },
    { name: 'no errors', expect: 'errors.total == 0' },
  ],
});
`;

// Next to the scenarios, not at the repository root: a service repository has its own tsconfig.json,
// and the nearest one is what both the editor and `kth plan`'s type check use for these files.
const scenarioTsconfig = `${JSON.stringify({ compilerOptions: scenarioCompilerOptions, include: ['**/*.ts'] }, null, 2)}\n`;

interface Scaffold {
  /** Relative to the target directory. */
  path: string;
  content: (options: Required<InitOptions>) => Promise<string>;
}

export interface InitOptions {
  /** The workflow template to copy. @default nightlyWorkflowSource */
  nightlyWorkflow?: string;
}

const scaffold: Scaffold[] = [
  { path: 'scenarios/sample.ts', content: async () => sampleScenario },
  { path: 'scenarios/tsconfig.json', content: async () => scenarioTsconfig },
  {
    path: '.github/workflows/nightly.yml',
    content: async ({ nightlyWorkflow }) => {
      try {
        return await readFile(nightlyWorkflow, 'utf8');
      } catch (error) {
        throw environmentError(`cannot read the nightly workflow template this package ships (${nightlyWorkflow})`, {
          where: nightlyWorkflow,
          hint: 'reinstall kube-traffic-harness (npm install kube-traffic-harness); its package includes harness/cli/templates/nightly.yml',
          cause: error,
        });
      }
    },
  },
];

/** Writes the scaffold into `dir`; refuses (bad input) when any file exists, before writing any. Returns the paths written. */
export async function initProject(dir: string, options: InitOptions = {}): Promise<string[]> {
  const root = resolve(dir);
  const existing = scaffold.map((file) => join(root, file.path)).filter((path) => existsSync(path));
  if (existing.length > 0) {
    throw badInput(`kth init would overwrite ${existing.map(shown).join(', ')}`, {
      where: existing.map(shown).join(', '),
      hint: `move or remove ${existing.length === 1 ? 'it' : 'them'} first, or scaffold into another directory: kth init <dir>`,
    });
  }
  // Every content first: a missing workflow should not leave half a scaffold behind.
  const resolved = { nightlyWorkflow: options.nightlyWorkflow ?? nightlyWorkflowSource };
  const contents = await Promise.all(scaffold.map((file) => file.content(resolved)));
  const written: string[] = [];
  for (const [index, file] of scaffold.entries()) {
    const path = join(root, file.path);
    await mkdir(dirname(path), { recursive: true });
    // 'wx': never overwrite, even if the file appeared since the check above.
    await writeFile(path, contents[index] as string, { flag: 'wx' });
    written.push(path);
  }
  return written;
}

function shown(path: string): string {
  const fromCwd = relative(process.cwd(), path);
  return fromCwd && !fromCwd.startsWith('..') ? fromCwd : path;
}

/** `kth init [dir]`: scaffold a scenario that imports 'kube-traffic-harness', its tsconfig.json and the nightly workflow. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description("scaffold scenarios/sample.ts (importing 'kube-traffic-harness'), scenarios/tsconfig.json and .github/workflows/nightly.yml; never overwrites")
    .argument('[dir]', 'the repository to scaffold in', '.')
    .action(async (dir: string) => {
      const written = await initProject(dir);
      const sample = shown(join(resolve(dir), 'scenarios/sample.ts'));
      process.stdout.write(`${written.map((path) => `wrote ${shown(path)}`).join('\n')}\nnext: npx kth plan ${sample}\n`);
    });
}
