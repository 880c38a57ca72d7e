/**
 * `npm run mutate` runs the fast suites once per mutant (jest.mutate.config.cjs sets the global MUTATION_RUN). A test
 * whose subject runs from dist/ (the SQLite worker thread, child processes) cannot see a mutant, which lives in the
 * sources only, and costs seconds per mutant: there it is skipped. Everywhere else (npm test, CI) it runs.
 */
export const mutationRun = (globalThis as { MUTATION_RUN?: unknown }).MUTATION_RUN === true;

/** `it` for tests of the built code in dist/; skipped in the mutation run only. */
export const itOnBuiltCode: jest.It = mutationRun ? it.skip : it;
