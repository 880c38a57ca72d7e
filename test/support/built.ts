import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Tests that start separate processes run the built code in dist/; `npm test` builds first, a bare jest run may
 * not have. Fails with the fix rather than testing yesterday's code.
 */
export function assertBuildIsFresh(...builtFiles: string[]): void {
  const newestSource = Math.max(
    ...readdirSync('src/audit', { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.ts'))
      .map((file) => statSync(join('src/audit', file)).mtimeMs),
  );
  for (const built of builtFiles) {
    let builtAt = 0;
    try {
      builtAt = statSync(built).mtimeMs;
    } catch {}
    if (builtAt < newestSource) {
      throw new Error(`${built} is missing or older than src/audit: run \`npm run build\` (npm test does it first)`);
    }
  }
}
