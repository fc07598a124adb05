// Three projects so each layer can run alone: unit (pure logic, no sockets beyond loopback),
// integration (real servers and clients on loopback, a real Docker engine for images),
// e2e (real lab clusters: kube-apiserver, kube-proxy, kernel netfilter; root).
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
};
const common = {
  transform,
  extensionsToTreatAsEsm: ['.ts'],
  testEnvironment: 'node',
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};
export default {
  // Files sharing a lab (a `@lab` docblock pragma) run back to back: test/support/shared-lab.ts.
  testSequencer: '<rootDir>/test/support/lab-sequencer.mjs',
  reporters: ['default', '<rootDir>/test/support/closing-line-reporter.cjs'],
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'], globalTeardown: '<rootDir>/test/support/shared-lab-teardown.mjs' },
  ],
};
