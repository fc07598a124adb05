import { basename, dirname } from 'node:path';
import { productionPackages } from '../../../../harness/workloads/image/context.ts';

describe('image build context', () => {
  it('GIVEN the installed tree WHEN production packages are listed THEN runtime dependencies are in and dev tools are out', async () => {
    const names = (await productionPackages()).map((dir) => (basename(dirname(dir)).startsWith('@') ? `${basename(dirname(dir))}/${basename(dir)}` : basename(dir)));
    expect(names).toEqual(expect.arrayContaining(['@grpc/grpc-js', 'prom-client', 'zod', 'commander', 'tsx', 'undici']));
    for (const devOnly of ['jest', 'typescript', 'testcontainers', '@swc/core']) expect(names).not.toContain(devOnly);
  }, 60_000);
});
