import { type DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
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
 * requests at once. Imported after AuthModule: global guards run in the order their modules are registered, and
 * these need the authenticated principal. The rate limit is checked first: refusing it costs nothing upstream.
 * The throttler's options and storage are provided here under its own tokens (what ThrottlerModule.forRoot would
 * do), built from the gateway's configuration. With `rateLimit.enabled: false` the rate-limit guard is not
 * registered at all (the caller's edge limits rates instead); the concurrency guard always is. Global for one
 * token: auth/'s AuthenticationGuard finds the failed-authentication limit here without importing limits/.
 */
@Global()
@Module({})
export class LimitsModule {
  static forConfig(config: GatewayConfig): DynamicModule {
    const guards: Provider[] = [
      ...(config.rateLimit.enabled ? [{ provide: APP_GUARD, useClass: RateLimitGuard }] : []),
      { provide: APP_GUARD, useClass: CallerConcurrencyGuard },
    ];
    return {
      module: LimitsModule,
      providers: [
        SharedThrottlerStorage,
        FailedAuthenticationLimit,
        RunBudget,
        { provide: FAILED_AUTHENTICATIONS, useExisting: FailedAuthenticationLimit },
        { provide: getStorageToken(), useExisting: SharedThrottlerStorage },
        { provide: getOptionsToken(), inject: [GatewayConfig, Reflector], useFactory: rateLimitOptions },
        ...guards,
      ],
      exports: [FAILED_AUTHENTICATIONS, RunBudget],
    };
  }
}
