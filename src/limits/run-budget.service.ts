import { Inject, Injectable } from '@nestjs/common';
import { getStorageToken, type ThrottlerStorage } from '@nestjs/throttler';
import { RateLimitedRuns } from '../audit/refused-runs.js';
import type { Principal } from '../auth/principal.js';
import { GatewayConfig } from '../config/gateway-config.js';
import type { CallOrigin } from '../context/call-origin.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { GatewayError } from '../problems/gateway-error.js';
import { budgetKey, RUNS } from './rate-limit.guard.js';

const MINUTE_MS = 60_000;

/**
 * A fleet request is as many backups as it has members: the rate-limit guard counted the request once, and the run
 * use case spends the other members here, on the same budget (`rateLimit.runsPerMinute`, the throttler's storage),
 * before anything is sent. Past the budget the whole request is 429 and nothing runs. Nothing to spend when
 * `rateLimit.enabled` is false.
 */
@Injectable()
export class RunBudget {
  constructor(
    @Inject(getStorageToken()) private readonly storage: ThrottlerStorage,
    private readonly config: GatewayConfig,
    private readonly refusedRuns: RateLimitedRuns,
    private readonly metrics: GatewayMetrics,
  ) {}

  async spend(principal: Principal, origin: CallOrigin, runs: number): Promise<void> {
    if (!this.config.rateLimit.enabled || runs <= 0) return;
    const limit = this.config.rateLimit.runsPerMinute;
    const key = budgetKey(RUNS, principal.caller);
    let hit = { isBlocked: false, timeToBlockExpire: 0 };
    // One storage call per run: ThrottlerStorage has no weighted increment (a Redis round trip each with redis.url).
    // Past the budget the request is refused whole, so counting stops at the first blocked hit.
    for (let i = 0; i < runs && !hit.isBlocked; i++) {
      hit = await this.storage.increment(key, MINUTE_MS, limit, MINUTE_MS, RUNS);
    }
    if (!hit.isBlocked) return;
    this.metrics.rateLimited.inc({ kind: RUNS });
    this.refusedRuns.note(principal, origin);
    throw new GatewayError(
      'RATE_LIMITED',
      `This fleet run is ${runs + 1} backups, past your ${limit} runs a minute; retry after ${hit.timeToBlockExpire} s.`,
      { retryAfter: hit.timeToBlockExpire },
    );
  }
}
