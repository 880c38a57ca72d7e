/** NestJS 12 is ESM-only, so tests run as ES modules (node --experimental-vm-modules). Jest runs TypeScript through SWC (decorator metadata on): several times faster than ts-jest; `npm run lint` type-checks. */
// Jest require()s ES modules natively from Node 24.9 on (its ECMAScript Modules page, "require() of ESM").
const [major, minor] = process.versions.node.split('.').map(Number);
const jestRequiresEsm = major > 24 || (major === 24 && minor >= 9);

module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {
    '^.+\\.(ts|js)$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
      },
    ],
  },
  extensionsToTreatAsEsm: ['.ts'],
  // CommonJS packages require() ESM-only ones (@nestjs/throttler: @nestjs/common and @nestjs/core;
  // @fastify/static: content-disposition). Node allows it from 20.19; Jest's own loader only from Node 24.9.
  ...(jestRequiresEsm
    ? // Jest loads them as ES modules, but runs a graph's CommonJS bodies before its ES module bodies, so the
      // throttler's require() would meet @nestjs/common still loading: the setup file evaluates them first.
      { setupFiles: ['<rootDir>/test/support/esm-before-cjs.ts'] }
    : // Before 24.9, SWC compiles those few to CommonJS when they are required (without an explicit module type,
      // @swc/jest emits ES modules where Jest imports and CommonJS where it requires).
      { transformIgnorePatterns: ['/node_modules/(?!(content-disposition|@nestjs/common|@nestjs/core)/)'] }),
  // Sources import siblings as './x.js' (Node ESM); jest resolves them to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
  // Three workers on two cores: most suites wait on sockets, timers and child processes, so two workers left the CPU
  // a third idle (127 % of 200 %). Measured on this 2-core machine, the whole suite on Node 20: 2 workers 412 s,
  // 3 workers 294 s (146 %), 4 workers 247 s (161 %); three keeps a margin for the timing-sensitive suites on a
  // slower or busier machine.
  maxWorkers: 3,
};
