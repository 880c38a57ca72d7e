import { DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { SESSION_LOOKUP } from '../auth/session-lookup.js';
import { TokenVerifier } from '../auth/token-verifier.js';
import { ConfigError } from '../config/config-errors.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { consoleConfigProblems } from '../config/load-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { SharedState } from '../redis/shared-state.js';
import { ConsoleAssetRoutes } from './console-asset-routes.js';
import { ConsoleAuthController } from './console-auth.controller.js';
import { ConsoleOrigin } from './console-origin.js';
import { ConsoleSessions } from './console-sessions.js';
import { CONSOLE_STORE, type ConsoleStore } from './console-store.js';
import { LOGIN_TRANSACTIONS, type LoginTransactionStore, loginLimits } from './login-transactions.js';
import { MemoryConsoleStore } from './memory-console-store.js';
import { MemoryLoginTransactions } from './memory-login-transactions.js';
import { RedisConsoleStore } from './redis-console-store.js';
import { RedisLoginTransactions } from './redis-login-transactions.js';
import { RecordSeal, SealedConsoleStore } from './sealed-console-store.js';

/**
 * The operator console: its static files at /console, its backend-for-frontend (login, callback, logout, session)
 * and the sessions behind its cookie, which the API accepts through auth/'s session strategy (SESSION_LOOKUP,
 * provided here, globally, so auth/ never imports this module). `console.enabled: false` leaves all of it out.
 */
@Global()
@Module({})
export class ConsoleModule {
  static async forConfig(config: GatewayConfig): Promise<DynamicModule> {
    if (!config.console.enabled) return { module: ConsoleModule };
    const problems = consoleConfigProblems(config);
    if (problems.length > 0) throw new ConfigError('file', problems);
    const oidcConfig = config.console.oidc;
    const jwt = config.auth.jwt;
    // The OpenID client (openid-client, oauth4webapi) is loaded only when console.oidc configures a provider.
    const login = oidcConfig && new (await import('./oidc-login.js')).OidcLogin(oidcConfig);
    const secret = config.console.sessionSecret ?? oidcConfig?.clientSecret;
    const seal = secret === undefined ? undefined : new RecordSeal(secret);
    const limits = loginLimits(config.console);
    return {
      module: ConsoleModule,
      controllers: [ConsoleAuthController],
      providers: [
        { provide: ConsoleOrigin, useValue: new ConsoleOrigin(config.console) },
        // Where the console's state lives is chosen once, at start: shared by replicas (Redis) or this replica's own.
        // Never both: a console store does not fall back to memory while Redis is away (it answers 503).
        {
          provide: CONSOLE_STORE,
          inject: [SharedState],
          useFactory: (state: SharedState): ConsoleStore => {
            // No secret means no sign-in method (the config checks say so): no session is ever written, and none
            // may be read from a Redis that others can write to.
            if (!state.shared || !seal) return new MemoryConsoleStore();
            // Whatever the sign-in method: tokens never lie in Redis in the clear, and whoever can write to it
            // cannot forge a session.
            return new SealedConsoleStore(new RedisConsoleStore(state), seal);
          },
        },
        {
          provide: LOGIN_TRANSACTIONS,
          inject: [SharedState],
          useFactory: (state: SharedState): LoginTransactionStore =>
            state.shared && seal
              ? new RedisLoginTransactions(state, seal, limits)
              : new MemoryLoginTransactions(limits),
        },
        {
          provide: ConsoleSessions,
          // The API's own verifier (auth/): a session may do what its access token may, checked the same way.
          inject: [CONSOLE_STORE, ConsoleOrigin, PINO_LOGGER, { token: TokenVerifier, optional: true }],
          useFactory: (store: ConsoleStore, origin: ConsoleOrigin, logger: Logger, verifier?: TokenVerifier) =>
            new ConsoleSessions({
              config: config.console,
              store,
              apiKeys: config.auth.apiKeys,
              origin,
              logger,
              oidc:
                login && oidcConfig && jwt && verifier
                  ? { login, verifier, issuer: jwt.issuer, clientId: oidcConfig.clientId }
                  : undefined,
            }),
        },
        { provide: SESSION_LOOKUP, useExisting: ConsoleSessions },
        ConsoleAssetRoutes,
      ],
      exports: [SESSION_LOOKUP],
    };
  }
}
