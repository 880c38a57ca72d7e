import { getHeapStatistics } from 'node:v8';
import { BASE_HEAP_BYTES, fleetHeapWarning, HEAP_PER_APPLIANCE_BYTES } from '../../../src/appliances/fleet-heap.js';
import { HEAP_SHEDDING_SHARE } from '../../../src/http/load-shedding.js';

const MB = 1024 * 1024;

describe('fleetHeapWarning', () => {
  it('says nothing while the fleet fits under the shedding threshold', () => {
    // 50 MB + 1,000 × 40 KB = 89 MB
    expect(fleetHeapWarning(1000, { maxHeapUsedMb: 100 })).toBeUndefined();
  });

  it('says how much a fleet needs, and where load is shed, once it does not fit', () => {
    // 50 MB + 1,500 × 40 KB = 108.6 MB
    expect(fleetHeapWarning(1500, { maxHeapUsedMb: 100 })).toBe(
      '1500 appliances need about 109 MB of heap once each has been used, and load is shed above 100 MB: raise ' +
        '--max-old-space-size (and limits.maxHeapUsedMb if set), or split the fleet across replicas',
    );
  });

  it('the threshold is exact: one appliance more than fits is one too many', () => {
    const fits = (100 * MB - BASE_HEAP_BYTES) / HEAP_PER_APPLIANCE_BYTES;
    expect(fleetHeapWarning(Math.floor(fits), { maxHeapUsedMb: 100 })).toBeUndefined();
    expect(fleetHeapWarning(Math.floor(fits) + 1, { maxHeapUsedMb: 100 })).toBeDefined();
  });

  it('with shedding off, compares with the heap limit itself', () => {
    const limit = getHeapStatistics().heap_size_limit;
    const fits = Math.floor((limit - BASE_HEAP_BYTES) / HEAP_PER_APPLIANCE_BYTES);
    expect(fleetHeapWarning(fits, { maxHeapUsedMb: 0 })).toBeUndefined();
    expect(fleetHeapWarning(fits + 1, { maxHeapUsedMb: 0 })).toMatch(/, and the heap limit is \d+ MB: /);
  });

  it('by default, compares with where load is shed (a share of the heap limit)', () => {
    const shedding = Math.floor(getHeapStatistics().heap_size_limit * HEAP_SHEDDING_SHARE);
    const fits = Math.floor((shedding - BASE_HEAP_BYTES) / HEAP_PER_APPLIANCE_BYTES);
    expect(fleetHeapWarning(fits, {})).toBeUndefined();
    expect(fleetHeapWarning(fits + 1, {})).toMatch(/, and load is shed above \d+ MB: /);
  });
});
