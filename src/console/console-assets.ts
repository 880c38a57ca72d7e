import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** One built file of the console, held in memory with its compressed forms (the whole console is ~100 KB). */
export interface ConsoleAsset {
  type: string;
  etag: string;
  /** Hashed names never change content: cached for a year. index.html is revalidated. */
  immutable: boolean;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Where `npm run build` writes the console: dist/console-assets, beside dist/console/ where this module is compiled
 * to; from the sources (tests run them), the same folder under the working directory.
 */
export function consoleAssetsDir(): string {
  const besideBuild = fileURLToPath(new URL('../console-assets/', import.meta.url));
  return existsSync(besideBuild) ? besideBuild : resolve('dist/console-assets');
}

/** Every file of the built console by URL path under /console/ (`index.html`, `assets/app-3F2A….js`). */
export function loadConsoleAssets(dir: string): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  if (!existsSync(dir)) return assets;
  for (const file of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!file.isFile()) continue;
    const path = join(file.parentPath, file.name);
    const type = TYPES[extname(file.name)];
    if (type === undefined) continue;
    const identity = readFileSync(path);
    const name = relative(dir, path).split('\\').join('/');
    assets.set(name, {
      type,
      etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`,
      immutable: name.startsWith('assets/'),
      identity,
      // The build writes both beside each file; compressing here is only the fallback.
      gzip: readIfPresent(`${path}.gz`) ?? gzipSync(identity, { level: 9 }),
      br:
        readIfPresent(`${path}.br`) ??
        brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
    });
  }
  return assets;
}

function readIfPresent(path: string): Buffer | undefined {
  return existsSync(path) ? readFileSync(path) : undefined;
}

/** The encoding to send for an Accept-Encoding header: brotli, then gzip, else none. */
export function pickEncoding(acceptEncoding: string | undefined): 'br' | 'gzip' | 'identity' {
  const accepted = (acceptEncoding ?? '')
    .split(',')
    .map((part) => part.trim().split(';'))
    .filter(([, q]) => q === undefined || !/^q=0(\.0*)?$/.test(q.trim()))
    .map(([name]) => name.toLowerCase());
  if (accepted.includes('br')) return 'br';
  if (accepted.includes('gzip')) return 'gzip';
  return 'identity';
}
