import { DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import type { Logger } from 'pino';
import { AppliancesModule } from './appliances/appliances.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AUTHENTICATION_GUARD, AuthModule } from './auth/auth.module.js';
import { ScopeGuard } from './auth/scope.guard.js';
import { BackupsModule } from './backups/backups.module.js';
import { ConfigModule } from './config/config.module.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { HealthModule } from './health/health.module.js';
import { DtoValidationPipe } from './http/validation.pipe.js';
import { CallerConcurrencyGuard } from './limits/caller-concurrency.guard.js';
import { LimitsModule } from './limits/limits.module.js';
import { RateLimitGuard } from './limits/rate-limit.guard.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { NotificationsModule } from './notifications/notifications.module.js';
import { ProblemFilter } from './problems/problem.filter.js';
import { RedisModule } from './redis/redis.module.js';

@Module({})
export class AppModule {
  static async forRoot(config: GatewayConfig, logger: Logger): Promise<DynamicModule> {
    // Awaited here, before Nest builds anything: the audit store starts opening now (AuditModule).
    const audit = await AuditModule.register(config, logger);
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        MetricsModule.forConfig(config),
        RedisModule,
        AuthModule.forConfig(config),
        LimitsModule,
        AppliancesModule,
        audit,
        NotificationsModule,
        BackupsModule,
        HealthModule,
        ...(await optionalModules(config)),
      ],
      providers: [
        ...globalGuards(config),
        { provide: APP_PIPE, useClass: DtoValidationPipe },
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
}

/**
 * Every global guard, in the order each request meets them: who the caller is, whether its scopes allow the route,
 * then what it may take (the rate limit first: refusing it costs nothing upstream; `rateLimit.enabled: false` leaves
 * it out, the caller's edge limiting rates instead), all three of the latter needing the principal the first one sets.
 * Declared here, in one module's providers, because that is the only order Nest keeps: it adds a module's imports
 * concurrently (each a promise it awaits), so guards registered by AuthModule and LimitsModule themselves ran in
 * whichever order those imports settled. In the bundle, where AuthModule waits for a chunk of its own, the rate limit
 * and the concurrency limit ran before authentication in about one start in three, found no principal, and let every
 * request through.
 */
function globalGuards(config: GatewayConfig): Provider[] {
  return [
    { provide: APP_GUARD, useExisting: AUTHENTICATION_GUARD },
    { provide: APP_GUARD, useExisting: ScopeGuard },
    ...(config.rateLimit.enabled ? [{ provide: APP_GUARD, useExisting: RateLimitGuard }] : []),
    { provide: APP_GUARD, useExisting: CallerConcurrencyGuard },
  ];
}

/**
 * What the configuration turns on and most gateways leave off, loaded only then: the console brings its OpenID
 * client and its static files, and module loading is most of the gateway's start-up time.
 */
async function optionalModules(config: GatewayConfig): Promise<DynamicModule[]> {
  if (!config.console.enabled) return [];
  const { ConsoleModule } = await import('./console/console.module.js');
  return [await ConsoleModule.forConfig(config)];
}
