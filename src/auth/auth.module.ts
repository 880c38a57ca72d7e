import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { AppliancesModule } from '../appliances/appliances.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { API_KEY_STRATEGY, ApiKeyStrategy } from './api-key.strategy.js';
import { callerGuard } from './caller.guard.js';
import { JWT_STRATEGY, JwtStrategy } from './jwt.strategy.js';
import { ScopeGuard } from './scope.guard.js';

/**
 * Caller authentication (passport: JWT bearer and X-API-Key, whichever are configured) and
 * scope authorization, both as global guards in that order.
 * Strategies register by name on passport's process-wide instance, so one process serves one gateway app.
 */
@Module({})
export class AuthModule {
  static forConfig(config: GatewayConfig): DynamicModule {
    const providers: Provider[] = [];
    const strategies: string[] = [];
    const jwt = config.auth.jwt;
    if (jwt) {
      providers.push({ provide: JwtStrategy, useFactory: () => new JwtStrategy(jwt) });
      strategies.push(JWT_STRATEGY);
    }
    if (config.auth.apiKeys.length > 0) {
      providers.push({ provide: ApiKeyStrategy, useFactory: () => new ApiKeyStrategy(config.auth.apiKeys) });
      strategies.push(API_KEY_STRATEGY);
    }
    return {
      module: AuthModule,
      imports: [PassportModule, AppliancesModule], // AuditRecorder (ScopeGuard records refused runs): AuditModule is global
      providers: [
        ...providers,
        { provide: APP_GUARD, useClass: callerGuard(strategies) },
        { provide: APP_GUARD, useClass: ScopeGuard },
      ],
    };
  }
}
