/**
 * The fast half of the production-tree check, run with every `npm test`: what dist/ imports must be a dependency
 * (not a devDependency, which `npm ci --omit=dev` leaves out), and every package the lock file installs for
 * production must support the image's Node. The slow half installs and starts that tree:
 * test/process/deploy/production-tree.prod-spec.ts (`npm run test:production-tree`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { imageNodeVersion } from '../../support/dockerfile.js';
import { unsupportedOn } from '../../support/production-tree.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Static `import … from 'x'`, side-effect `import 'x'`, re-exports and dynamic `import('x')` of built files. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** What `tools/bundle-gateway.mjs` wrote: the bundle's files (under dist/) and the packages it still imports. */
function bundleManifest(): { files: string[]; external: string[] } {
  return JSON.parse(readFileSync('dist/bundle.json', 'utf8')) as { files: string[]; external: string[] };
}

function importedPackages(dir: string, skip: Set<string>): Map<string, string> {
  const found = new Map<string, string>(); // package -> first file importing it
  for (const file of readdirSync(dir, { recursive: true }).map(String)) {
    if (!file.endsWith('.js') || skip.has(file)) continue;
    for (const [, specifier] of readFileSync(join(dir, file), 'utf8').matchAll(SPECIFIER)) {
      if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      const name = packageName(specifier);
      if (!found.has(name)) found.set(name, `${dir}/${file}`);
    }
  }
  return found;
}

describe('runtime dependencies', () => {
  it('every package dist/ imports is in dependencies, so `npm ci --omit=dev` installs it', () => {
    if (!existsSync('dist/main.js')) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    // The modules tsc wrote (the tools, the audit CLI and the tests load them one by one); the bundle is checked below.
    const imported = importedPackages('dist', new Set(bundleManifest().files));
    expect(imported.size).toBeGreaterThan(10); // the scan sees the real imports (@nestjs/core, pg, …)
    const missing = [...imported].filter(([name]) => !(name in pkg.dependencies));
    expect(missing.map(([name, file]) => `${name} (imported by ${file})`)).toEqual([]);
  });

  it('the bundle (dist/main.js) imports at run time only dependencies, and packages absent here that libraries load if present', () => {
    const { files, external } = bundleManifest();
    expect(files).toContain('main.js');
    expect(files).toContain('chunks/audit-store-worker.js');
    const packages = [...new Set(external.map(packageName))];
    expect(packages).toContain('better-sqlite3'); // the native addon is never bundled
    const installedHere = (name: string) => existsSync(join('node_modules', name, 'package.json'));
    // Kept out of the bundle and installed: it must be installed in production too.
    expect(packages.filter((name) => installedHere(name) && !(name in pkg.dependencies))).toEqual([]);
    // Absent here, so absent in production: only the optional integrations NestJS, and Fastify's adapter look for.
    expect(packages.filter((name) => !installedHere(name)).sort()).toEqual([
      '@fastify/multipart',
      '@fastify/view',
      '@nestjs/microservices',
      '@nestjs/platform-express',
      '@nestjs/websockets',
    ]);
  });

  it("every package package-lock.json installs for production supports the image's Node (no EBADENGINE there)", () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
      packages: Record<string, { version?: string; dev?: boolean; devOptional?: boolean; engines?: { node?: string } }>;
    };
    const production = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && !entry.dev && !entry.devOptional)
      .map(([path, entry]) => ({
        name: path.replace(/^.*node_modules\//, ''),
        version: entry.version ?? '?',
        engine: entry.engines?.node,
      }));
    expect(production.length).toBeGreaterThan(100);
    expect(unsupportedOn(imageNodeVersion(), production)).toEqual([]);
  });
});
