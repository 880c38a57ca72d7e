import { DynamicModule, Global, Module, Provider } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import type { GatewayConfig } from '../config/gateway-config.js';
import { authenticationGuard } from './authentication.guard.js';
import { JWT_STRATEGY, JwtStrategy } from './jwt.strategy.js';
import { ScopeGuard } from './scope.guard.js';
import { SESSION_STRATEGY, SessionStrategy } from './session.strategy.js';
import { TokenVerifier } from './token-verifier.js';

/** AuthenticationGuard for the configured strategies: a class built per configuration, provided under this token. */
export const AUTHENTICATION_GUARD = Symbol('AUTHENTICATION_GUARD');

/**
 * Who the caller is (passport: JWT bearer, X-API-Key and the console's session cookie, whichever are configured) and
 * whether it may call the route at all (scopes): the two guards, exported for the module that puts every global guard
 * in its order (AppModule). A leaf: it depends on nothing but config and problems.
 * Strategies register by name on passport's process-wide instance, so one process serves one gateway app. Global, so
 * that the console finds the one TokenVerifier (auth/ never imports the console).
 */
@Global()
@Module({})
export class AuthModule {
  static async forConfig(config: GatewayConfig): Promise<DynamicModule> {
    const providers: Provider[] = [];
    const strategies: string[] = [];
    const jwt = config.auth.jwt;
    if (jwt) {
      providers.push({ provide: TokenVerifier, useValue: new TokenVerifier(jwt) }, JwtStrategy);
      strategies.push(JWT_STRATEGY);
    }
    if (config.auth.apiKeys.length > 0) {
      // Loaded only when keys are configured: the strategy's package brings all of lodash (~25 ms of start-up).
      const { API_KEY_STRATEGY, ApiKeyStrategy } = await import('./api-key.strategy.js');
      providers.push({ provide: ApiKeyStrategy, useFactory: () => new ApiKeyStrategy(config.auth.apiKeys) });
      strategies.push(API_KEY_STRATEGY);
    }
    // Last: a request with a token or a key is that caller, whatever cookies the browser adds. The session lookup it
    // needs is provided (globally) by the console module.
    if (config.console.enabled) {
      providers.push(SessionStrategy);
      strategies.push(SESSION_STRATEGY);
    }
    return {
      module: AuthModule,
      imports: [PassportModule],
      providers: [
        ...providers,
        { provide: AUTHENTICATION_GUARD, useClass: authenticationGuard(strategies) },
        ScopeGuard,
      ],
      // The console verifies the access tokens its sessions are opened with through the same verifier (one key set).
      exports: [AUTHENTICATION_GUARD, ScopeGuard, ...(jwt ? [TokenVerifier] : [])],
    };
  }
}
