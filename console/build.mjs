/**
 * Builds the operator console (`npm run build` runs this after the gateway): esbuild bundles console/src (Preact,
 * TypeScript, CSS) into hashed, minified files under dist/console-assets/assets/, and writes index.html naming them.
 * The gateway serves that folder at /console/ from memory (src/console/console-assets.ts). No CDN, no runtime
 * dependency: the bundle carries everything.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const out = here('../dist/console-assets/');

rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}assets`, { recursive: true });
const result = await esbuild.build({
  entryPoints: { app: here('src/main.tsx') },
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  entryNames: '[name]-[hash]',
  outdir: `${out}assets`,
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
const js = outputs.find((file) => file.endsWith('.js'));
const css = outputs.find((file) => file.endsWith('.css'));
if (!js || !css) throw new Error(`console build produced ${outputs.join(', ')}`);
writeFileSync(
  `${out}index.html`,
  readFileSync(here('index.html'), 'utf8').replace('{{js}}', js).replace('{{css}}', css),
);
// Compressed once here, at the highest levels, instead of at every start of the gateway (brotli 11 is slow).
for (const file of ['index.html', ...outputs.map((name) => `assets/${name}`)]) {
  const content = readFileSync(`${out}${file}`);
  writeFileSync(`${out}${file}.gz`, gzipSync(content, { level: 9 }));
  writeFileSync(`${out}${file}.br`, brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
}
process.stdout.write(`console: dist/console-assets (${outputs.join(', ')})\n`);
