import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { HEAP_SHEDDING_SHARE, heapSheddingBytes } from '../../../src/http/load-shedding.js';
import { assertBuildIsFresh } from '../../support/built.js';

const MB = 1024 * 1024;
/** The V8 flags of package.json's start script (what the image runs too). */
const startFlags = (): string[] => {
  const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start;
  return start.split(/\s+/).filter((word) => word.startsWith('--max-'));
};
const flag = (flags: string[], name: string) => Number(flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1]);

describe('heap load shedding', () => {
  it('takes limits.maxHeapUsedMb as set (0: off), and 70 % of V8’s heap limit when unset', () => {
    expect(heapSheddingBytes({ maxHeapUsedMb: 300 })).toBe(300 * MB);
    expect(heapSheddingBytes({ maxHeapUsedMb: 0 })).toBe(0);
    expect(heapSheddingBytes({})).toBe(Math.floor(getHeapStatistics().heap_size_limit * HEAP_SHEDDING_SHARE));
  });

  it('under the start command’s flags, starts shedding before the old space is full (where the process dies)', () => {
    assertBuildIsFresh('dist/http/load-shedding.js');
    const flags = startFlags();
    const oldSpaceMb = flag(flags, 'max-old-space-size');
    expect(oldSpaceMb).toBeGreaterThan(0);
    const script =
      "import('./dist/http/load-shedding.js').then((m) => process.stdout.write(String(m.heapSheddingBytes({}))))";
    const bytes = Number(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' }));
    // Heap in use counts the young generation as well: the old space alone must still have room at the threshold.
    expect(bytes).toBeLessThan(0.95 * oldSpaceMb * MB);
    expect(bytes).toBeGreaterThan(0.5 * oldSpaceMb * MB);
  });
});
