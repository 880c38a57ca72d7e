import type Undici from 'undici';

/**
 * undici, loaded on first use rather than at start-up: its 750 KB (compiled, then its module bodies run) were ~90 ms
 * of every start, and nothing needs it before the first appliance request or webhook delivery (bench/README.md,
 * "undici on first use"). The module cache loads it once for the process.
 *
 * Read through `default`: undici is CommonJS, and Node hands an ES module `import()` its exports as `default` (and,
 * where it detects them, as named exports too), while esbuild's split bundle (tools/bundle-gateway.mjs) hands over
 * `default` only (evanw/esbuild#3245). `default` is the one name that means the same from the sources and the bundle.
 */
export async function loadUndici(): Promise<typeof Undici> {
  return (await import('undici')).default;
}
