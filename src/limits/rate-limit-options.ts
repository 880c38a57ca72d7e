import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { ThrottlerModuleOptions } from '@nestjs/throttler';
import type { AccessRequirement } from '../auth/access-policy.js';
import { REQUIRED_SCOPE } from '../auth/auth.decorators.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { READS, RUNS } from './rate-limit.guard.js';

const MINUTE_MS = 60_000;

/** Two budgets per caller and minute: run routes (their scope family is backups:run) draw on one, reads on the other. */
export function rateLimitOptions(config: GatewayConfig, reflector: Reflector): ThrottlerModuleOptions {
  const isRun = (context: ExecutionContext) =>
    reflector.getAllAndOverride<AccessRequirement | undefined>(REQUIRED_SCOPE, [
      context.getHandler(),
      context.getClass(),
    ])?.family === 'backups:run';
  return {
    throttlers: [
      { name: RUNS, ttl: MINUTE_MS, limit: config.rateLimit.runsPerMinute, skipIf: (context) => !isRun(context) },
      { name: READS, ttl: MINUTE_MS, limit: config.rateLimit.readsPerMinute, skipIf: isRun },
    ],
    // The IETF draft's RateLimit-* headers are set by RateLimitGuard itself.
    setHeaders: false,
  };
}
