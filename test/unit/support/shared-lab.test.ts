import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labOf, orderByLab } from '../../support/lab-sequencer.mjs';
import { validateLabName } from '../../../harness/lab/names.ts';
import { isOwnSharedLab, sharedLabName, sharedLabPragma } from '../../support/shared-lab.ts';

const file = (lab?: string) => `${lab ? `/** @lab ${lab} */\n` : ''}import { x } from './y.ts';\n/** @lab ignored/9: not the leading docblock */\n`;

describe('the shared-lab pragma', () => {
  it('GIVEN a leading docblock with @lab mode/nodes THEN both are read; without one, nothing', () => {
    expect(sharedLabPragma(file('nftables/3'))).toEqual({ proxyMode: 'nftables', nodes: 3 });
    expect(sharedLabPragma('/**\n * Why.\n * @lab cilium/2\n */\nimport x;')).toEqual({ proxyMode: 'cilium', nodes: 2 });
    expect(sharedLabPragma(file())).toBeUndefined();
  });

  it('GIVEN a pragma that is not mode/nodes THEN the error names the file, the value and the form', () => {
    expect(() => sharedLabPragma(file('iptables'), 'a.test.ts')).toThrow("a.test.ts: @lab 'iptables' is not <mode>/<nodes> (e.g. @lab iptables/3; modes: iptables, nftables, ipvs, cilium)");
    expect(() => sharedLabPragma(file('kindnet/3'), 'a.test.ts')).toThrow(/@lab 'kindnet\/3' is not/);
  });

  it('GIVEN a key and a jest pid THEN the lab name is a valid lab name of this process only', () => {
    const name = sharedLabName({ proxyMode: 'nftables', nodes: 3 }, 4_194_304);
    expect(name).toBe(`s-nft3-${(4_194_304).toString(36)}`);
    // The longest: the largest Linux pid (2^22) in base 36 still leaves a valid lab name.
    expect(validateLabName(name)).toBe(name);
    expect(isOwnSharedLab(name, 4_194_304)).toBe(true);
    expect(isOwnSharedLab(name, 4_194_305)).toBe(false);
    expect(isOwnSharedLab(name.slice(2), 4_194_304)).toBe(false);
  });
});

describe('the lab sequencer', () => {
  const test = (path: string, lab?: string) => ({ path, lab });
  const order = (tests: { path: string; lab?: string }[]) => (orderByLab(tests, (t: { lab?: string }) => t.lab) as { path: string }[]).map((t) => t.path);

  it('GIVEN files with and without a lab THEN those without keep their order and go first, then each lab\'s files together', () => {
    expect(order([test('e'), test('c', 'iptables/3'), test('a', 'nftables/3'), test('d'), test('b', 'iptables/3'), test('f', 'iptables/2')]))
      .toEqual(['e', 'd', 'f', 'b', 'c', 'a']);
  });

  it('GIVEN the e2e files of this repository THEN every @lab is valid, and the files that declare a lab are exactly those that use one', () => {
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)]));
    const e2e = files('test/e2e').filter((path) => path.endsWith('.test.ts'));
    const declared = e2e.filter((path) => labOf(readFileSync(path, 'utf8')) !== undefined);
    expect(declared.length).toBeGreaterThan(10);
    for (const path of declared) expect(sharedLabPragma(readFileSync(path, 'utf8'), path)).toBeDefined();
    // A suite module (*.suite.ts) runs in the files that import it: those must declare the lab,
    const callers = e2e.filter((path) => /useSharedLab\(\)|\wSuite\(/.test(readFileSync(path, 'utf8')));
    // and a file that declares a lab uses it.
    expect(callers.sort()).toEqual(declared.sort());
  });
});
