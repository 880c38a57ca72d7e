/**
 * The gateway's real access policy and error rendering without the rest of the gateway: AuthModule (passport
 * strategies, AuthenticationGuard, ScopeGuard) and ProblemFilter on a Fastify-backed Nest app, in front of probe
 * routes that echo the principal or throw, on a loopback port. It starts in a fraction of a second: fast enough to run
 * once per mutant in `npm run mutate`. (Not Fastify's inject: light-my-request needs an ESM-only package that jest
 * cannot require on Node 20.)
 */

import type { AddressInfo } from 'node:net';
import { Controller, Get, Global, HttpCode, Module, Param, Post } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import { CurrentPrincipal, Public, RequireScope } from '../../src/auth/auth.decorators.js';
import { AUTHENTICATION_GUARD, AuthModule } from '../../src/auth/auth.module.js';
import { FAILED_AUTHENTICATIONS } from '../../src/auth/failed-authentications.js';
import type { Principal } from '../../src/auth/principal.js';
import { ScopeGuard } from '../../src/auth/scope.guard.js';
import { SESSION_LOOKUP, type SessionLookup } from '../../src/auth/session-lookup.js';
import type { GatewayConfig } from '../../src/config/gateway-config.js';
import { parseConfig } from '../../src/config/load-config.js';
import { registerJsonBody } from '../../src/http/json-body.js';
import { FailedAuthenticationLimit } from '../../src/limits/failed-authentications.service.js';
import { createLogger } from '../../src/logging/logger.js';
import { LoggingModule } from '../../src/logging/logging.module.js';
import { GatewayMetrics } from '../../src/metrics/gateway-metrics.js';
import { ApiProblems } from '../../src/problems/api-problems.decorator.js';
import { GatewayError } from '../../src/problems/gateway-error.js';
import { ProblemFilter } from '../../src/problems/problem.filter.js';
import { StoredProblem } from '../../src/problems/stored-problem.js';
import { RecordingAudit } from './run-fakes.js';

/** What the probe routes answer: the principal as the routes see it (scopes sorted, as a list). */
export interface EchoedPrincipal extends Omit<Principal, 'scopes'> {
  scopes: string[];
}

const echo = (principal: Principal): EchoedPrincipal => ({ ...principal, scopes: [...principal.scopes].sort() });

@Controller()
class ProbeController {
  @Get('health')
  @Public()
  health() {
    return { ok: true };
  }

  /** No @RequireScope: any authenticated caller (authentication still fails closed). */
  @Get('whoami')
  whoami(@CurrentPrincipal() principal: Principal) {
    return echo(principal);
  }

  @Get('appliances/:applianceId/read')
  @RequireScope('backups:read')
  read(@Param('applianceId') _applianceId: string, @CurrentPrincipal() principal: Principal) {
    return echo(principal);
  }

  /** A contradiction no route of the gateway has: public, yet scoped. The scope guard then has no caller to judge. */
  @Get('public-but-scoped')
  @Public()
  @RequireScope('backups:read', 'any')
  publicButScoped() {
    return { ok: true };
  }

  @Get('list')
  @RequireScope('backups:read', 'any')
  list(@CurrentPrincipal() principal: Principal) {
    return echo(principal);
  }

  @Get('verify')
  @RequireScope('audit:read', 'all')
  verify(@CurrentPrincipal() principal: Principal) {
    return echo(principal);
  }

  @Post('appliances/:applianceId/run')
  @HttpCode(202)
  @RequireScope('backups:run', 'use-case')
  run(@CurrentPrincipal() principal: Principal) {
    return echo(principal);
  }

  @Get('fail/gateway')
  @Public()
  @ApiProblems(502, 503)
  failWithGatewayError() {
    throw new GatewayError('APPLIANCE_UNAVAILABLE', 'Appliance vc-a could not be reached.', {
      appliance: 'vc-a',
      retryAfter: 7,
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
  }

  /** A 500 of our own making, without a cause. */
  @Get('fail/internal')
  @Public()
  failInternally() {
    throw new GatewayError('INTERNAL_ERROR', 'Something we did not expect.');
  }

  @Get('fail/conflict')
  @Public()
  failWithConflict() {
    throw new GatewayError('BACKUP_IN_PROGRESS', 'Appliance vc-a is already running a backup.', { appliance: 'vc-a' });
  }

  @Get('fail/bug')
  @Public()
  failWithBug() {
    throw new TypeError('secret internals: cannot read properties of undefined');
  }

  /** As Fastify and plugins raise them: an Error with a numeric `statusCode`. */
  @Get('fail/status/:status')
  @Public()
  failWithStatus(@Param('status') status: string) {
    throw Object.assign(new Error(`framework says ${status}`), { statusCode: Number(status) });
  }

  /** Not an Error, no message: only its status is known. */
  @Get('fail/bare-status/:status')
  @Public()
  failWithBareStatus(@Param('status') status: string) {
    throw { statusCode: Number(status) };
  }

  /** A `statusCode` that is not a number is no status at all. */
  @Get('fail/text-status')
  @Public()
  failWithTextStatus() {
    throw Object.assign(new Error('odd'), { statusCode: '400' });
  }

  /** JavaScript lets anything be thrown, even nothing. */
  @Get('fail/null')
  @Public()
  failWithNull() {
    throw null;
  }

  /** An answer given before, replayed as it was (an Idempotency-Key retry). */
  @Get('fail/stored')
  @Public()
  failWithStoredProblem() {
    throw new StoredProblem(429, { 'retry-after': '9' }, '{"code":"RATE_LIMITED","requestId":"first-request"}');
  }

  @Post('body')
  @Public()
  body() {
    return { ok: true };
  }
}

export interface ProbeResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  json(): Record<string, unknown>;
}

export interface ProbeApp {
  app: NestFastifyApplication;
  config: GatewayConfig;
  /** Every log line the filter and strategies wrote, parsed. */
  logs: Record<string, unknown>[];
  request(options: {
    method?: 'GET' | 'POST' | 'HEAD' | 'OPTIONS' | 'DELETE';
    url: string;
    headers?: Record<string, string>;
    payload?: string;
  }): Promise<ProbeResponse>;
  close(): Promise<void>;
}

/**
 * What the gateway's global LimitsModule gives AuthModule's guard, for apps built without it: the real
 * failed-authentication limit, its audit entries recorded in memory.
 */
export function failedAuthenticationsModule(config: GatewayConfig) {
  @Global()
  @Module({
    providers: [
      {
        provide: FAILED_AUTHENTICATIONS,
        useFactory: () => new FailedAuthenticationLimit(config, new RecordingAudit(), new GatewayMetrics(config)),
      },
    ],
    exports: [FAILED_AUTHENTICATIONS],
  })
  class ProbeLimitsModule {}
  return ProbeLimitsModule;
}

/**
 * `auth` is the config file's `auth` section. `sessions`: the console's session lookup (as the console module
 * provides it, globally), which turns the console and with it the session strategy on; without it, no console.
 */
export async function startProbeApp(auth: Record<string, unknown>, sessions?: SessionLookup): Promise<ProbeApp> {
  const config = parseConfig(
    {
      auth,
      appliances: [{ id: 'vc-a', url: 'http://127.0.0.1:9', username: 'u', password: 'p' }],
      console: { enabled: sessions !== undefined },
    },
    {},
  );
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('debug', {
    write: (line: string) => void logs.push(JSON.parse(line)),
  } as pino.DestinationStream);

  const ProbeLimitsModule = failedAuthenticationsModule(config);

  @Global()
  @Module({ providers: [{ provide: SESSION_LOOKUP, useValue: sessions }], exports: [SESSION_LOOKUP] })
  class SessionLookupModule {}

  @Module({
    imports: [
      LoggingModule.forRoot(logger),
      ProbeLimitsModule,
      AuthModule.forConfig(config),
      ...(sessions === undefined ? [] : [SessionLookupModule]),
    ],
    controllers: [ProbeController],
    // AuthModule's two guards as the gateway's AppModule orders them, without the limits that follow them there.
    providers: [
      { provide: APP_GUARD, useExisting: AUTHENTICATION_GUARD },
      { provide: APP_GUARD, useExisting: ScopeGuard },
      { provide: APP_FILTER, useClass: ProblemFilter },
    ],
  })
  class ProbeModule {}

  // The gateway's own body handling (JSON only), as createApp sets it up.
  const app = await NestFactory.create<NestFastifyApplication>(ProbeModule, new FastifyAdapter(), {
    logger: false,
    bodyParser: false,
  });
  registerJsonBody(app.getHttpAdapter().getInstance());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  return {
    app,
    config,
    logs,
    async request({ method = 'GET', url, headers = {}, payload }) {
      const response = await fetch(`${base}${url}`, { method, headers, body: payload });
      const body = await response.text();
      return {
        statusCode: response.status,
        headers: Object.fromEntries(response.headers),
        body,
        json: () => JSON.parse(body),
      };
    },
    close: () => app.close(),
  };
}
