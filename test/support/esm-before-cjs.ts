/**
 * Jest setup file, Node 24.9 and later only (jest.config.cjs): evaluates the ES modules that a CommonJS dependency
 * of the gateway require()s, before the test file's own graph is loaded.
 *
 * @nestjs/throttler is CommonJS and require()s @nestjs/common and @nestjs/core, which the gateway also imports. Node
 * evaluates an ES module graph in post-order, so both are evaluated by the time the throttler's body runs. Jest's
 * loader runs the CommonJS bodies of a graph before any of its ES module bodies (a divergence from Node its
 * ECMAScript Modules page lists), and refuses a require() of a module in the graph still being loaded:
 * "Cannot require() ES Module …/@nestjs/common/index.js in a cycle". Loaded here first, they are already evaluated
 * in the test file's module registry, and the throttler's require() returns those same instances, as in Node.
 */
import '@nestjs/common';
import '@nestjs/core';
