// Types for lab-sequencer.mjs (plain JavaScript: jest loads its sequencer untransformed).
export function labOf(source: string): string | undefined;
export function orderByLab<T extends { path: string }>(tests: readonly T[], labOfTest: (test: T) => string | undefined): T[];
export default class LabSequencer {}
