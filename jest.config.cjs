/** NestJS 12 is ESM-only, so tests run as ES modules (node --experimental-vm-modules). Jest runs TypeScript through SWC (decorator metadata on): several times faster than ts-jest; `npm run lint` type-checks. */
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
  // On Node 20, CommonJS packages may require() ESM-only ones (Node 20.19 allows it; Jest's own loader
  // only from Node 24.9). SWC compiles those few to CommonJS when they are required: without an explicit
  // module type, @swc/jest emits ES modules where Jest imports and CommonJS where it requires.
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition|@nestjs/common|@nestjs/core)/)'],
  // Sources import siblings as './x.js' (Node ESM); jest resolves them to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
  maxWorkers: 2,
};
