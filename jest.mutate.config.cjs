/**
 * The tests `npm run mutate` runs against each mutant: the fast ones that exercise the mutated sources in this process,
 * test/pure/ and the `.spec.ts` suites of test/app/ (the store suites on a real SQLite file and a real PostgreSQL, the
 * token tests against a real JWKS server). Left out: the `.e2e-spec.ts` suites (a whole gateway per file, seconds
 * each, times hundreds of mutants), property tests (a random sample cannot say reliably whether a mutant lives), and
 * test/process/ and test/browser/, whose subject runs from dist/ (the SQLite worker thread, child processes): the
 * mutants live in the sources only, so those could never see one.
 */
const base = require('./jest.config.cjs');

module.exports = {
  ...base,
  testRegex: undefined,
  // The sources are in the module map too: Stryker picks each mutant's tests with jest's findRelatedTests
  // (stryker.config.mjs), which follows imports only through files in the map. With the tests alone there, a source
  // counted as related only to the tests that import it directly, so the OpenAPI tests (through openapi-export.ts)
  // never ran against the error table's examples, and a static mutant there "survived" having run no test at all.
  roots: ['<rootDir>/test', '<rootDir>/src'],
  testMatch: ['<rootDir>/test/pure/**/*.spec.ts', '<rootDir>/test/app/**/*.spec.ts'],
  testPathIgnorePatterns: [
    '/node_modules/',
    // Random samples: whether a mutant lives would depend on the draw.
    '\\.property\\.spec\\.ts$',
  ],
  // Read by test/support/mutation-run.ts: the store suite then skips its tests of other processes and threads.
  globals: { ...base.globals, MUTATION_RUN: true },
  maxWorkers: 1,
};
