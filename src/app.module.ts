import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import type { Logger } from 'pino';
import { AppliancesModule } from './appliances/appliances.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { BackupsModule } from './backups/backups.module.js';
import { ConfigModule } from './config/config.module.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { HealthModule } from './health/health.module.js';
import { DtoValidationPipe } from './http/validation.pipe.js';
import { LimitsModule } from './limits/limits.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { NotificationsModule } from './notifications/notifications.module.js';
import { ProblemFilter } from './problems/problem.filter.js';
import { RedisModule } from './redis/redis.module.js';

@Module({})
export class AppModule {
  static async forRoot(config: GatewayConfig, logger: Logger): Promise<DynamicModule> {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        MetricsModule.forConfig(config),
        RedisModule,
        AuthModule.forConfig(config),
        LimitsModule.forConfig(config), // after AuthModule: its guards need the principal
        AppliancesModule,
        AuditModule.register(config),
        NotificationsModule,
        BackupsModule,
        HealthModule,
        ...(await optionalModules(config)),
      ],
      providers: [
        { provide: APP_PIPE, useClass: DtoValidationPipe },
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
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
