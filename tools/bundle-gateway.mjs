/**
 * Bundles the built gateway (`npm run build` runs this last): esbuild turns dist/main.js and the ~2,600 files it
 * imports (our modules and their packages) into dist/main.js plus a few chunks under dist/chunks/.
 *
 * Why: start-up was spent in Node's module loader, not in the gateway. Resolving, reading and compiling 2,600 ESM and
 * CommonJS files one by one took 1.85 s of a 2.2 s start; one bundle starts in about half the time (bench/README.md,
 * "footprint"). This is what NestJS's own documentation recommends where start-up time counts (its serverless
 * recipe bundles with webpack); esbuild, already the console's bundler, does it from the packages' public entry
 * points. Only whitespace and comments are minified: names stay (the OpenAPI document and the logs take class names
 * from the code, and renaming measured slower to start), and a source map leads stack traces back to the sources.
 *
 * What is not bundled:
 * - better-sqlite3, a native addon that finds its binary from its own folder;
 * - swagger-ui-dist, whose files are served from its own folder (GET /docs);
 * - ioredis and pg, loaded only when the configuration names Redis or PostgreSQL (so bundling them would save no
 *   start-up time), and which read files beside their own code (ioredis its package.json);
 * - the optional packages NestJS, pg and others load only if they are installed (@nestjs/microservices, pg-native,
 *   ...): whatever cannot be resolved here stays an import, and the library's own check sees it missing, as before.
 *
 * Lazy imports (the console, Redis, the PostgreSQL and SQLite stores) stay lazy: each becomes a chunk loaded when the
 * configuration asks for it. Two modules find files relative to themselves, and both are in chunks (they are only
 * imported lazily): the audit stores' worker (`./audit-store-worker.js`, bundled here as chunks/audit-store-worker.js)
 * and the console's assets (`../console-assets/`). The build fails if either ends up anywhere else.
 *
 * The tsc output stays beside the bundle: `npm run audit:verify`, the tools and the tests import single modules of it,
 * and tsc's own entry is kept as dist/main-unbundled.js (the same gateway, loaded module by module: the footprint
 * bench starts both, and a stack trace there names the source modules).
 * dist/bundle.json lists what the bundle imports at run time (test/process/deploy/runtime-dependencies.spec.ts).
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const resolveFromRoot = createRequire(`${root}package.json`);

/** Packages that must stay files of their own (see above). */
const KEPT_OUT = ['better-sqlite3', 'swagger-ui-dist', 'ioredis', 'pg'];
/** Modules that locate files beside themselves, so must land in dist/chunks/ (see above). */
const IN_CHUNKS = ['dist/audit/store/store-thread.js', 'dist/console/console-assets.js'];

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function builtin(specifier) {
  return specifier.startsWith('node:') || builtinModules.includes(specifier);
}

function installed(name) {
  try {
    resolveFromRoot.resolve(`${name}/package.json`);
    return true;
  } catch {
    try {
      resolveFromRoot.resolve(name);
      return true;
    } catch {
      return false;
    }
  }
}

/** Optional packages that are not installed stay imports, for the library's own "is it there?" check at run time. */
const absentStayExternal = {
  name: 'absent-packages-stay-external',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, ({ path }) => {
      if (builtin(path) || installed(packageName(path))) return undefined;
      return { path, external: true };
    });
  },
};

/**
 * Where names are read, so must survive the bundle's renaming: the gateway's own modules (dist/: the OpenAPI document's
 * schema names, log contexts, the worker's error names) and, in node_modules, NestJS's packages (the contexts of Nest's
 * own log lines) and the ES module packages whose errors name themselves after their class (`this.name =
 * this.constructor.name`: jose, and oauth4webapi under openid-client), which the logs and the console's error reasons
 * show.
 */
const NAMES_READ_IN = ['@nestjs/', 'jose/', 'oauth4webapi/', 'openid-client/'];
/**
 * Modules among those whose names nothing reads, and that name functions on every request: Nest's execution context
 * builds three closures (`getRequest`, `getResponse`, `getNext`) at each `switchToHttp()`, which every guard calls,
 * several times a request. With names kept, each closure costs a `defineProperty`, and the profile put them first.
 * The build fails when one of these is not in the bundle (a path that moved would otherwise just slow requests again).
 */
const NAMES_NOT_READ_IN = ['@nestjs/core/helpers/execution-context-host.js'];

const OWN_MODULES = `${root}dist${sep}`;
const NODE_MODULES = `${sep}node_modules${sep}`;

/** Whether `path` (as esbuild resolved it: node_modules may be a link elsewhere) is a module whose names are read. */
function namesReadIn(path) {
  if (path.startsWith(OWN_MODULES)) return true;
  const at = path.lastIndexOf(NODE_MODULES);
  if (at < 0) return false;
  const inPackages = path
    .slice(at + NODE_MODULES.length)
    .split(sep)
    .join('/');
  return NAMES_READ_IN.some((folder) => inPackages.startsWith(folder)) && !NAMES_NOT_READ_IN.includes(inPackages);
}

/**
 * esbuild's `keepNames`, file by file: each module where names are read (namesReadIn) goes through esbuild's transform with it before the
 * bundle takes it, so its classes and functions keep their names however the bundle renames them. The map of a module
 * that has one (tsc's, linked) is passed along inline, so the bundle's map still leads to the TypeScript sources.
 */
const keepNamesWhereRead = {
  name: 'keep-names-where-read',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async ({ path }) => {
      if (!namesReadIn(path) || !isEsModule(path)) return undefined;
      const code = await withInlineSourceMap(path, await readFile(path, 'utf8'));
      const out = await esbuild.transform(code, {
        keepNames: true,
        format: 'esm',
        loader: 'js',
        target: 'node20',
        sourcemap: 'inline',
        sourcefile: path,
      });
      return { contents: out.code, loader: 'js', resolveDir: dirname(path) };
    });
  },
};

/** A .js file is an ES module when the nearest package.json says `"type": "module"` (Node's rule). */
const moduleTypes = new Map();
function isEsModule(path) {
  const folder = dirname(path);
  if (!moduleTypes.has(folder)) {
    const manifest = resolve(folder, 'package.json');
    moduleTypes.set(
      folder,
      existsSync(manifest)
        ? JSON.parse(readFileSync(manifest, 'utf8')).type === 'module'
        : folder !== dirname(folder) && isEsModule(folder),
    );
  }
  return moduleTypes.get(folder);
}

const LINKED_MAP = /^\/\/# sourceMappingURL=(?!data:)(.+)$/m;

function withInlineSourceMap(path, code) {
  const linked = LINKED_MAP.exec(code);
  if (!linked) return code;
  const mapPath = resolve(dirname(path), linked[1].trim());
  if (!existsSync(mapPath)) return code;
  const map = JSON.parse(readFileSync(mapPath, 'utf8'));
  // The sources of a map are relative to the map's folder; made absolute, they mean the same from the inlined copy.
  map.sources = map.sources.map((source) => resolve(dirname(mapPath), map.sourceRoot ?? '', source));
  delete map.sourceRoot;
  const inline = `//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}`;
  return code.replace(LINKED_MAP, inline);
}

const BANNER =
  "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);";
// The bundle replaces dist/main.js, so its input must be tsc's: a second run would bundle the bundle.
if (readFileSync(`${root}dist/main.js`, 'utf8').includes(BANNER))
  throw new Error('bundle: dist/main.js is already the bundle; run `npm run build`, which compiles it again first');

copyFileSync(`${root}dist/main.js`, `${root}dist/main-unbundled.js`);

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { main: 'dist/main.js', 'chunks/audit-store-worker': 'dist/audit/store/audit-store-worker.js' },
  outdir: 'dist',
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // esbuild renames what would clash in the bundle's one scope, and every class tsc decorates clashes (`let X = class
  // X {...}`): the OpenAPI schemas and Nest's log contexts would read `RunRequest2` and `_InstanceLoader`
  // (test/process/contract/bundle-names.e2e-spec.ts). esbuild's `keepNames` prevents that, but for the whole bundle it
  // wraps every function made at run time as well (`__name(fn, "x")`, a defineProperty each): axios, fastify and
  // Nest make several per request, and that cost 1.26× the CPU per run request (bench/README.md, "keepNames"). So names
  // are kept module by module where they are read (keepNamesWhereRead, above), not here.
  keepNames: false,
  // Whitespace and comments only (names stay). Node reads a module as bytes and decodes it to a string before V8
  // parses it: the comments kept by a plain bundle are ~30 % of its bytes and hold the only non-ASCII characters
  // (esbuild escapes those in code), which make the string two-byte and both steps slower. Measured 5 % off the time
  // to ready (bench/README.md, "footprint").
  minifyWhitespace: true,
  // A one-line bundle would make stack traces useless: with NODE_OPTIONS=--enable-source-maps they name the
  // TypeScript sources again (esbuild chains tsc's maps).
  sourcemap: 'linked',
  sourcesContent: false,
  // The packages' licence notices go to dist/main.js.LEGAL.txt (and one per chunk) rather than the end of the code.
  legalComments: 'linked',
  external: KEPT_OUT,
  plugins: [absentStayExternal, keepNamesWhereRead],
  // CommonJS packages inside an ES module bundle still call require() (for Node's built-ins and the packages kept out).
  banner: { js: BANNER },
  metafile: true,
  logLevel: 'warning',
});

const outputs = result.metafile.outputs;
const misplaced = IN_CHUNKS.filter(
  (input) => !Object.entries(outputs).some(([file, out]) => file.startsWith('dist/chunks/') && input in out.inputs),
);
if (misplaced.length > 0)
  throw new Error(`bundle: ${misplaced.join(', ')} must be in dist/chunks/ (they find files relative to themselves)`);

const inputs = Object.keys(result.metafile.inputs);
const unused = NAMES_NOT_READ_IN.filter((module) => !inputs.some((input) => input.endsWith(`node_modules/${module}`)));
if (unused.length > 0) throw new Error(`bundle: ${unused.join(', ')} not in the bundle; update NAMES_NOT_READ_IN`);

const external = new Set();
for (const out of Object.values(outputs))
  for (const imported of out.imports) if (imported.external && !builtin(imported.path)) external.add(imported.path);
const files = Object.keys(outputs).map((file) => relative('dist', file));
writeFileSync(`${root}dist/bundle.json`, `${JSON.stringify({ files, external: [...external].sort() }, null, 2)}\n`);
const bytes = Object.values(outputs).reduce((sum, out) => sum + out.bytes, 0);
console.log(`bundle: dist/main.js and ${files.length - 1} files in dist/chunks/, ${(bytes / 1e6).toFixed(1)} MB`);
