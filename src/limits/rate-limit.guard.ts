import { createHash } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  getOptionsToken,
  getStorageToken,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitedRuns } from '../audit/refused-runs.js';
import type { Principal } from '../auth/principal.js';
import { originOf } from '../context/call-origin.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { GatewayError } from '../problems/gateway-error.js';

export const RUNS = 'runs';
export const READS = 'reads';

/** The storage key of a caller's budget of one kind (the throttler's own and RunBudget's). */
export function budgetKey(name: string, caller: string): string {
  return `${name}:${createHash('sha256').update(caller).digest('base64url')}`;
}

/**
 * Requests per caller (its CallerId) per minute, counted apart for runs (`rateLimit.runsPerMinute`) and
 * for everything else (`rateLimit.readsPerMinute`), on @nestjs/throttler: 429 RATE_LIMITED with Retry-After, and the
 * RateLimit-* headers of the IETF draft on every limited answer. Public routes (health) are not limited.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  // The base class's own injection tokens, declared again so that this class's constructor types stay ours.
  constructor(
    @Inject(getOptionsToken()) options: ThrottlerModuleOptions,
    @Inject(getStorageToken()) storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly refusedRuns: RateLimitedRuns,
    private readonly metrics: GatewayMetrics,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return context.switchToHttp().getRequest<{ user?: Principal }>().user === undefined;
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return (request.user as Principal).caller;
  }

  /** One budget per caller and kind, whichever route: a caller cannot multiply its limit across run routes. */
  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return budgetKey(name, tracker);
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, blockDuration, getTracker, generateKey } = props;
    const request = context.switchToHttp().getRequest<FastifyRequest & { user: Principal }>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const name = throttler.name ?? 'default';
    const key = generateKey(context, await getTracker(request, context), name);
    const { totalHits, timeToExpire, isBlocked, timeToBlockExpire } = await this.storageService.increment(
      key,
      ttl,
      limit,
      blockDuration,
      name,
    );
    const windowSeconds = Math.round(ttl / 1000);
    reply.header('ratelimit-policy', `${limit};w=${windowSeconds}`);
    reply.header('ratelimit-limit', String(limit));
    reply.header('ratelimit-remaining', String(Math.max(0, limit - totalHits)));
    reply.header('ratelimit-reset', String(isBlocked ? timeToBlockExpire : timeToExpire));
    if (isBlocked) {
      this.metrics.rateLimited.inc({ kind: name });
      if (name === RUNS) this.refusedRuns.note(request.user, originOf(request));
      throw new GatewayError(
        'RATE_LIMITED',
        `You sent more than ${limit} ${name === RUNS ? 'run requests' : 'requests'} in ${windowSeconds} s; retry after ${timeToBlockExpire} s.`,
        { retryAfter: timeToBlockExpire },
      );
    }
    return true;
  }
}
