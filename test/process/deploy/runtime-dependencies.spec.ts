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

function importedPackages(dir: string): Map<string, string> {
  const found = new Map<string, string>(); // package -> first file importing it
  for (const file of readdirSync(dir, { recursive: true }).map(String)) {
    if (!file.endsWith('.js')) continue;
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
    const imported = importedPackages('dist');
    expect(imported.size).toBeGreaterThan(10); // the scan sees the real imports (@nestjs/core, pg, …)
    const missing = [...imported].filter(([name]) => !(name in pkg.dependencies));
    expect(missing.map(([name, file]) => `${name} (imported by ${file})`)).toEqual([]);
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
