/**
 * Mutation testing (`npm run mutate`): StrykerJS with its jest runner, over the code whose mistakes would be
 * silent: authentication, the audit chain and its stores, the vAPI session and client, and the error tables.
 * Too slow for CI (it runs the relevant tests once per mutant); the last score is in the README (Development and
 * testing).
 *
 * The store suite runs against PostgreSQL too, so the run needs one: `eval "$(bash .ci/postgres.sh)" && npm run mutate`.
 */
if (!process.env.AUDIT_TEST_POSTGRES_URL) {
  throw new Error(
    'AUDIT_TEST_POSTGRES_URL is not set: without PostgreSQL every mutant of postgres-audit-store.ts would survive. ' +
      'Run `eval "$(bash .ci/postgres.sh)"` first.',
  );
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  // Jest runs our tests as ES modules (NestJS 12 is ESM-only): its vm-modules loader needs this flag in every process
  // that runs jest, and Stryker's jest runner runs jest inside its own child processes, which do not inherit the
  // flags of the `stryker` process itself (NODE_OPTIONS would also reach the e2e suites' gateway processes).
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.mutate.config.cjs',
    // Only test files that import the mutated file, transitively; perTest coverage then narrows to single tests.
    enableFindRelatedTests: true,
  },
  // Works with ESM jest: the instrumented sources report coverage through the test environment's global, which is
  // also the global of the vm contexts jest evaluates ES modules in.
  coverageAnalysis: 'perTest',
  mutate: [
    'src/auth/**/*.ts',
    'src/audit/audit-chain.ts',
    'src/audit/audit-draft.ts',
    'src/audit/store/kysely-audit-store.ts',
    'src/audit/store/sqlite-audit-store.ts',
    'src/audit/store/postgres-audit-store.ts',
    'src/audit/store/postgres-introspector.ts',
    'src/audit/store/kysely-idempotency-keys.ts',
    'src/audit/store/audit-schema.ts',
    'src/audit/audit-spool.ts',
    'src/audit/audit-cursor.ts',
    'src/appliances/vapi-session.ts',
    'src/appliances/vapi-client.ts',
    'src/appliances/appliance-breaker.ts',
    'src/appliances/appliance-lane.ts',
    'src/problems/**/*.ts',
  ],
  // The sandbox needs the sources, the tests and the configs; not builds, benchmarks or deployment files.
  ignorePatterns: ['dist', 'dist-tools', 'bench', 'deploy', 'docs', 'data', 'coverage', 'reports', '*.db*'],
  // Two cores are the usual budget here; `npm run mutate -- --concurrency 4` on a larger machine.
  concurrency: 2,
  // On top of 1.5 × the covering tests' own time: enough for a loaded machine, short enough that the mutants that loop
  // forever (a walk that never ends, a retry that never stops) do not dominate the run.
  timeoutMS: 5000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 95, low: 90, break: 90 },
  // Stryker would put `// @ts-nocheck` at the top of every file of the sandbox, for a type checker to skip the
  // instrumented code; jest runs TypeScript through SWC, which never type-checks, and the header changed the files
  // the contract tests compare byte for byte (the typed client's clients/typescript/src/schema.ts).
  disableTypeChecks: false,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
