import { Global, Module } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { getOptionsToken, getStorageToken } from '@nestjs/throttler';
import { FAILED_AUTHENTICATIONS } from '../auth/failed-authentications.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { CallerConcurrencyGuard } from './caller-concurrency.guard.js';
import { FailedAuthenticationLimit } from './failed-authentications.service.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { rateLimitOptions } from './rate-limit-options.js';
import { RunBudget } from './run-budget.service.js';
import { SharedThrottlerStorage } from './shared-throttler-storage.js';

/**
 * What one caller may take of the gateway: requests per minute (runs and reads apart, @nestjs/throttler) and
 * requests at once, as two guards exported for the module that puts every global guard in its order (AppModule):
 * both need the authenticated principal. The throttler's options and storage are provided here under its own tokens
 * (what ThrottlerModule.forRoot would do), built from the gateway's configuration. Global for one token: auth/'s
 * AuthenticationGuard finds the failed-authentication limit here without importing limits/.
 */
@Global()
@Module({
  providers: [
    SharedThrottlerStorage,
    FailedAuthenticationLimit,
    RunBudget,
    { provide: FAILED_AUTHENTICATIONS, useExisting: FailedAuthenticationLimit },
    { provide: getStorageToken(), useExisting: SharedThrottlerStorage },
    { provide: getOptionsToken(), inject: [GatewayConfig, Reflector], useFactory: rateLimitOptions },
    RateLimitGuard,
    CallerConcurrencyGuard,
  ],
  exports: [FAILED_AUTHENTICATIONS, RunBudget, RateLimitGuard, CallerConcurrencyGuard],
})
export class LimitsModule {}
