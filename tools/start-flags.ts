import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The V8 flags of package.json's `start` script (`node <flags> dist/main.js`), so that the demo and the soak run the
 * gateway as `npm start` and the image do: one place to change them (the Dockerfile's CMD is checked against it).
 */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(resolve('package.json'), 'utf8')) as { scripts: { start: string } };
  return pkg.scripts.start.split(/\s+/).filter((word) => word.startsWith('--'));
}
