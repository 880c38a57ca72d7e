/**
 * The gateway as the image ships it: package.json, package-lock.json and dist/ in a directory of their own, with
 * `npm ci --omit=dev`. Anything dist/ imports that only a devDependency brought in fails here, as it would in the
 * image (ERR_MODULE_NOT_FOUND), instead of passing quietly in the development checkout.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { satisfies } from 'semver';

export interface InstalledPackage {
  name: string;
  version: string;
  engine?: string;
  path: string;
}

/** Copies what the image's runtime stage gets from the build (nothing else: no sources, no tools). */
export function copyBuiltProject(target: string): void {
  if (!existsSync('dist/main.js')) throw new Error('dist/main.js is missing: run `npm run build` first');
  for (const file of ['package.json', 'package-lock.json', 'dist']) {
    cpSync(file, join(target, file), { recursive: true });
  }
}

/**
 * `npm ci --omit=dev` in `dir` with the Node that runs this test; resolves with npm's output, rejects with it when
 * npm fails.
 */
export function installProductionTree(dir: string): Promise<string> {
  // The outer `npm run` exports its own settings as npm_config_*; the inner install must see only the user's.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
  // Native modules (better-sqlite3) are compiled for the Node running this test, which starts the gateway on the
  // tree (process.execPath), as the image compiles them for its own Node: npm runs on it (its directory first on
  // PATH), and node-gyp builds against headers of its ABI.
  env.PATH = [dirname(process.execPath), env.PATH].filter(Boolean).join(delimiter);
  const headers = nodeHeaders();
  if (headers) env.npm_config_nodedir = headers;
  env.npm_config_build_from_source = 'better-sqlite3'; // compiled, never downloaded, as in the image (Dockerfile)
  // --prefer-offline: the tarballs are in the cache since the checkout's own `npm ci`.
  const args = ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'];
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    // At the lowest priority, before npm starts its compiler (which inherits it): CI runs this install beside the
    // other tests, and a minute and a half of g++ must only take what they leave idle.
    if (child.pid !== undefined) setPriority(child.pid, constants.priority.PRIORITY_LOW);
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`npm ${args.join(' ')} exited ${code}:\n${output}`)),
    );
  });
}

/**
 * Where node-gyp finds this Node's headers: npm's nodedir when it has this Node's ABI (CI points it at the headers
 * the image compiles with, Dockerfile NODE_BUILD_VERSION), else this Node's own (bin/node beside include/node/), else
 * undefined (node-gyp then fetches this Node's). Not a nodedir of another Node: the user's npm config may name one.
 */
function nodeHeaders(): string | undefined {
  const abi = (dir: string) => {
    const header = join(dir, 'include/node/node_version.h');
    return existsSync(header) ? /#define NODE_MODULE_VERSION (\d+)/.exec(readFileSync(header, 'utf8'))?.[1] : undefined;
  };
  return [process.env.npm_config_nodedir, dirname(dirname(process.execPath))].find(
    (dir): dir is string => dir !== undefined && abi(dir) === process.versions.modules,
  );
}

/** Every package under node_modules, nested ones too, as installed on disk. */
export function installedPackages(nodeModules: string): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  const visit = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        visit(join(dir, entry));
        continue;
      }
      const path = join(dir, entry);
      const manifest = join(path, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
        name: string;
        version: string;
        engines?: { node?: string };
      };
      found.push({ name: pkg.name, version: pkg.version, engine: pkg.engines?.node, path });
      visit(join(path, 'node_modules'));
    }
  };
  visit(nodeModules);
  return found;
}

/** Packages whose `engines.node` excludes `nodeVersion`: what npm would warn about as EBADENGINE there. */
export function unsupportedOn(nodeVersion: string, packages: { name: string; version: string; engine?: string }[]) {
  return packages
    .filter((pkg) => pkg.engine !== undefined && !satisfies(nodeVersion, pkg.engine, { includePrerelease: true }))
    .map((pkg) => `${pkg.name}@${pkg.version} needs node ${pkg.engine}`);
}
