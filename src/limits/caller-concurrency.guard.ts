import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { SSE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';

/**
 * No caller can starve another: each caller (its CallerId) may have `limits.maxInFlightPerCaller`
 * requests under way, and `limits.maxStreamsPerCaller` job event streams open, at once; beyond that it gets 429
 * TOO_MANY_REQUESTS with Retry-After, while everyone else is served. A global guard after authentication (so the
 * principal is known); a request counts until its response is closed, a stream until it ends. Public routes
 * (health) are not counted.
 */
@Injectable()
export class CallerConcurrencyGuard implements CanActivate {
  private readonly requests = new Map<string, number>();
  private readonly streams = new Map<string, number>();

  constructor(
    private readonly config: GatewayConfig,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    if (!principal) return true;
    const isStream = this.reflector.get<boolean | undefined>(SSE_METADATA, context.getHandler()) === true;
    const counts = isStream ? this.streams : this.requests;
    const limit = isStream ? this.config.limits.maxStreamsPerCaller : this.config.limits.maxInFlightPerCaller;
    const key = principal.caller;
    const count = (counts.get(key) ?? 0) + 1;
    if (count > limit) {
      throw new GatewayError(
        'TOO_MANY_REQUESTS',
        isStream
          ? `You already hold ${limit} job event streams open; close one first.`
          : `You already have ${limit} requests under way; wait for their answers.`,
        { retryAfter: 1 },
      );
    }
    counts.set(key, count);
    context
      .switchToHttp()
      .getResponse<FastifyReply>()
      .raw.once('close', () => {
        const left = (counts.get(key) ?? 1) - 1;
        if (left === 0) counts.delete(key);
        else counts.set(key, left);
      });
    return true;
  }
}
