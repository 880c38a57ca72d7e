import { getHeapStatistics } from 'node:v8';
import type { LimitsConfig } from '../config/gateway-config.js';
import { heapSheddingBytes } from '../http/load-shedding.js';

/**
 * The heap a gateway holds with no appliance, and what each appliance adds once it has been probed and run (its
 * connection pool and sockets, session, lanes, breaker, status, metrics series): a 2,000-appliance gateway held
 * ~127 MB after fleet runs over all of them (bench/README.md, "Metrics at fleet size"; README, Sizing).
 */
export const BASE_HEAP_BYTES = 50 * 1024 * 1024;
export const HEAP_PER_APPLIANCE_BYTES = 40 * 1024;

/**
 * Whether `appliances` fit this process's heap once all of them have been used: a sentence for the log when they do
 * not. Under `npm start`'s heap (160 MB of old space) a gateway of 5,000 appliances died of heap exhaustion within a
 * minute of starting (its first probes and one fleet run); nothing said why beforehand. Compared with where load is
 * shed (limits.maxHeapUsedMb, or 70 % of the heap limit), or with the heap limit itself when shedding is off.
 */
export function fleetHeapWarning(appliances: number, limits: Pick<LimitsConfig, 'maxHeapUsedMb'>): string | undefined {
  const needed = BASE_HEAP_BYTES + appliances * HEAP_PER_APPLIANCE_BYTES;
  const shedding = heapSheddingBytes(limits);
  const limit = shedding > 0 ? shedding : getHeapStatistics().heap_size_limit;
  if (needed <= limit) return undefined;
  const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
  const where = shedding > 0 ? 'load is shed above' : 'the heap limit is';
  return (
    `${appliances} appliances need about ${mb(needed)} MB of heap once each has been used, and ${where} ` +
    `${mb(limit)} MB: raise --max-old-space-size (and limits.maxHeapUsedMb if set), or split the fleet across replicas`
  );
}
