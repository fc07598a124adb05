import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initProject, nightlyWorkflowSource } from '../../../harness/cli/commands/init.ts';
import { HarnessError } from '../../../harness/core/errors.ts';
import { repoRoot } from '../../../harness/core/paths.ts';
import { loadScenario } from '../../../harness/engine/scenario.ts';

describe('kth init', () => {
  let dir: string;
  let workflow: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-init-'));
    // A stand-in for the workflow the package ships, so this test does not depend on its contents.
    workflow = join(dir, 'shipped-nightly.yml');
    await writeFile(workflow, 'name: nightly\n');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN an empty directory WHEN initialised THEN the sample scenario, its tsconfig.json and a copy of the workflow are written', async () => {
    const target = join(dir, 'repo');
    const written = await initProject(target, { nightlyWorkflow: workflow });
    expect(written).toEqual(['scenarios/sample.ts', 'scenarios/tsconfig.json', '.github/workflows/nightly.yml'].map((path) => join(target, path)));
    expect(await readFile(join(target, 'scenarios/sample.ts'), 'utf8')).toMatch(/^import \{ defineScenario \} from 'kube-traffic-harness';$/m);
    expect(JSON.parse(await readFile(join(target, 'scenarios/tsconfig.json'), 'utf8'))).toMatchObject({ compilerOptions: { strict: true, noEmit: true, moduleResolution: 'bundler' } });
    expect(await readFile(join(target, '.github/workflows/nightly.yml'), 'utf8')).toBe('name: nightly\n');
  });

  it('GIVEN no options WHEN initialised THEN the workflow written is the template for a depending project, not this repository\'s own', async () => {
    await initProject(dir);
    const written = await readFile(join(dir, '.github/workflows/nightly.yml'), 'utf8');
    expect(nightlyWorkflowSource).toBe(join(repoRoot, 'harness/cli/templates/nightly.yml'));
    expect(written).toBe(await readFile(nightlyWorkflowSource, 'utf8'));
    expect(written).not.toBe(await readFile(join(repoRoot, '.github/workflows/nightly.yml'), 'utf8'));
    // What a depending project has: its own npm ci, the installed package's setup, the sample.
    expect(written).toMatch(/^ {6}- run: npm ci --no-audit --no-fund$/m);
    expect(written).toMatch(/^ {6}- run: bash node_modules\/kube-traffic-harness\/harness\/setup\/setup\.sh$/m);
    expect(written).toMatch(/SCENARIO: \$\{\{ inputs\.scenario \|\| 'scenarios\/sample\.ts' \}\}/);
    expect(written).not.toMatch(/npm run setup|keepalive-imbalance/);
  });

  it('GIVEN any of the files exists WHEN initialised THEN bad input naming it and the fix, and nothing is written', async () => {
    await mkdir(join(dir, 'scenarios'));
    await writeFile(join(dir, 'scenarios/tsconfig.json'), '{}\n');
    const error = await initProject(dir, { nightlyWorkflow: workflow }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(HarnessError);
    expect(error).toMatchObject({ kind: 'bad-input', exitCode: 2 });
    expect((error as HarnessError).message).toMatch(/would overwrite .*scenarios\/tsconfig\.json$/);
    expect((error as HarnessError).hint).toMatch(/kth init <dir>/);
    expect(await readFile(join(dir, 'scenarios/tsconfig.json'), 'utf8')).toBe('{}\n');
    expect(existsSync(join(dir, 'scenarios/sample.ts'))).toBe(false);
    expect(existsSync(join(dir, '.github'))).toBe(false);
  });

  it('GIVEN the workflow is missing from the package WHEN initialised THEN an environment error naming it, and nothing is written', async () => {
    const error = await initProject(dir, { nightlyWorkflow: join(dir, 'absent.yml') }).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ kind: 'environment', where: join(dir, 'absent.yml') });
    expect(existsSync(join(dir, 'scenarios'))).toBe(false);
  });

  it('GIVEN the sample, importing this package by relative path WHEN loaded THEN it type-checks and validates', async () => {
    // The package name resolves only where the package is installed (test/integration/cli/package-user.test.ts).
    await initProject(dir, { nightlyWorkflow: workflow });
    const sample = join(dir, 'scenarios/sample.ts');
    const text = await readFile(sample, 'utf8');
    await writeFile(sample.replace(/\.ts$/, '.mts'), text.replace("'kube-traffic-harness'", `'${join(process.cwd(), 'harness/index.ts')}'`));
    const { spec } = await loadScenario(sample.replace(/\.ts$/, '.mts'));
    expect(spec.name).toBe('sample');
  }, 60_000);
});
