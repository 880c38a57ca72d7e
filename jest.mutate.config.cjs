/**
 * The tests `npm run mutate` runs against each mutant: the fast ones that exercise the mutated sources in this process
 * (unit tests, and the store suites on a real SQLite file and a real PostgreSQL). Left out: e2e suites (a whole
 * gateway per file, seconds each, times hundreds of mutants), property tests (a random sample cannot say reliably
 * whether a mutant lives), and suites whose subject runs from dist/ (the SQLite worker thread, child processes):
 * the mutants live in the sources only, so those could never see one.
 */
const base = require('./jest.config.cjs');

module.exports = {
  ...base,
  testRegex: undefined,
  testMatch: ['<rootDir>/test/unit/**/*.spec.ts', '<rootDir>/test/audit/**/*.spec.ts'],
  testPathIgnorePatterns: [
    '/node_modules/',
    // The one store suite on the SQLite worker thread, which runs dist/.
    '<rootDir>/test/audit/sqlite-worker-audit-store.spec.ts',
    // Random samples: whether a mutant lives would depend on the draw.
    '\\.property\\.spec\\.ts$',
  ],
  // Read by test/support/mutation-run.ts: the store suite then skips its tests of other processes and threads.
  globals: { ...base.globals, MUTATION_RUN: true },
  maxWorkers: 1,
};
