import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HarnessError } from '../../../harness/core/errors.ts';
import { typecheckScenario } from '../../../harness/engine/typecheck.ts';

const entry = join(process.cwd(), 'harness/index.ts');

describe('typecheckScenario', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-typecheck-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const scenario = (workload: string) => `import { defineScenario } from '${entry}';
export default defineScenario({
  name: 'x',
  description: 'x',
  workload: ${workload},
  load: [{ name: 'c', protocol: 'http', connections: 1, executor: 'constant-arrival-rate', rate: 1, duration: '1s' }],
});
`;

  it('GIVEN a well-typed scenario THEN it passes', async () => {
    const file = join(dir, 'good.mts');
    await writeFile(file, scenario("{ server: 'http', replicas: 3 }"));
    await expect(typecheckScenario(file, 'good.mts')).resolves.toBeUndefined();
  }, 60_000);

  it('GIVEN type errors THEN bad input listing each at file:line:column, the first as where', async () => {
    const file = join(dir, 'bad.mts');
    await writeFile(file, scenario("{ server: 'tcp', replicas: 'three' }"));
    const error = (await typecheckScenario(file, 'bad.mts').catch((thrown: unknown) => thrown)) as HarnessError;
    expect(error).toMatchObject({ kind: 'bad-input', exitCode: 2, where: `${file}:5:15` });
    expect(error.message.split('\n')).toEqual([
      'scenario bad.mts has 2 type errors:',
      `  ${file}:5:15 - TS2322: Type '"tcp"' is not assignable to type '"http" | "grpc"'.`,
      `  ${file}:5:30 - TS2322: Type 'string' is not assignable to type 'number'.`,
    ]);
  }, 60_000);

  it('GIVEN a plain JavaScript module THEN it is not type-checked', async () => {
    const file = join(dir, 'plain.mjs');
    await writeFile(file, 'export default { replicas: "three" };\n');
    await expect(typecheckScenario(file, 'plain.mjs')).resolves.toBeUndefined();
  });
});
