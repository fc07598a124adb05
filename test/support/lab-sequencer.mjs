// Runs the e2e files that share a lab (`@lab <mode>/<nodes>` in their leading docblock, see
// shared-lab.ts) back to back, one lab after another, after every other file: each shared lab then
// boots once per run and is the only lab on the machine while its files run. Every other file keeps
// jest's own order (failed first, then slowest first).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// Jest's own default sequencer and docblock parser, resolved through jest (what this package
// depends on) rather than declared again beside it.
const fromJest = createRequire(createRequire(createRequire(import.meta.url).resolve('jest')).resolve('@jest/core'));
const { default: DefaultSequencer } = fromJest('@jest/test-sequencer');
const { extract, parse } = fromJest('jest-docblock');

/** The raw `@lab` value of a test file's source, or undefined (shared-lab.ts validates it). */
export function labOf(source) {
  const value = parse(extract(source)).lab;
  return Array.isArray(value) ? value.join(' ') : value;
}

/** Files without a lab in the order given, then each lab's files together (labs by name, files by path). */
export function orderByLab(tests, labOfTest) {
  const alone = [];
  const byLab = new Map();
  for (const test of tests) {
    const lab = labOfTest(test);
    if (lab === undefined) alone.push(test);
    else byLab.set(lab, [...(byLab.get(lab) ?? []), test]);
  }
  const shared = [...byLab.keys()].sort().flatMap((lab) => byLab.get(lab).sort((a, b) => a.path.localeCompare(b.path)));
  return [...alone, ...shared];
}

export default class LabSequencer extends DefaultSequencer {
  async sort(tests) {
    return orderByLab(await super.sort(tests), (test) => labOf(readFileSync(test.path, 'utf8')));
  }
}
