import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Public } from '../auth/auth.decorators.js';
import { FAILED_AUTHENTICATIONS, type FailedAuthentications } from '../auth/failed-authentications.js';
import { assertFromConsole } from '../auth/session.strategy.js';
import { clientAddress } from '../common/client-address.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { originOf } from '../context/call-origin.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayError } from '../problems/gateway-error.js';
import { ApiKeyLoginDto } from './api-key-login.dto.js';
import { identifyApiKey } from './api-key-login.js';
import { ConsoleOrigin } from './console-origin.js';
import type { ConsoleSessionView } from './console-session.js';
import { ConsoleSessions } from './console-sessions.js';
import { loginCookieName, readCookie, serializeCookie } from './cookies.js';
import { reasonOf } from './error-reason.js';
import {
  LOGIN_TRANSACTIONS,
  LOGIN_TTL_SECONDS,
  type LoginTransactionStore,
  refusalError,
} from './login-transactions.js';
import type { PendingLogin } from './oidc-login.js';
import { loginKey, randomId } from './store-keys.js';

interface SignedOut {
  signedIn: false;
}

interface LoginMethods {
  login: { oidc: boolean; apiKey: boolean };
}

/**
 * The backend-for-frontend: logins end here, and the browser gets a cookie naming a server-side session, never a
 * token. Public routes as far as the API's guards go (they are how one gets a session); each checks what it needs.
 * Not part of the API's OpenAPI document.
 */
@ApiExcludeController()
@Public()
@Controller('console')
export class ConsoleAuthController {
  constructor(
    private readonly config: GatewayConfig,
    private readonly sessions: ConsoleSessions,
    private readonly origin: ConsoleOrigin,
    @Inject(LOGIN_TRANSACTIONS) private readonly logins: LoginTransactionStore,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    @Inject(FAILED_AUTHENTICATIONS) private readonly failures: FailedAuthentications,
  ) {}

  /**
   * Starts the authorization code flow with PKCE: a login transaction kept server side, then off to the provider.
   * Anyone may call this, so the transaction must be admitted first (LoginTransactionStore's bounds, per client
   * address after `trustedProxies`): a flood gets 429 (or 503 when everyone's bound is reached) and never reaches
   * the provider or the sessions.
   */
  @Get('login')
  async login(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const oidc = this.sessions.oidc;
    if (!oidc) throw new GatewayError('NOT_FOUND', 'OpenID Connect login is not configured (console.oidc).');
    this.assertUsableOrigin(request);
    const pending = oidc.login.pending(`${this.origin.of(request)}/console/callback`);
    const transaction = randomId();
    const refusal = await this.logins.begin(clientAddress(request.ip), loginKey(transaction), JSON.stringify(pending));
    if (refusal) throw refusalError(refusal);
    let url: string;
    try {
      url = await oidc.login.authorizationUrl(pending);
    } catch (error) {
      // Its slot is given back: a provider that is down must not use up the address's sign-ins.
      await this.logins.take(loginKey(transaction)).catch(() => undefined);
      this.logger.warn({ console: 'login', reason: reasonOf(error) }, 'identity provider discovery failed');
      throw new GatewayError('SERVICE_UNAVAILABLE', 'The identity provider does not answer; try again shortly.', {
        retryAfter: 5,
      });
    }
    const secure = this.origin.secure(request);
    reply
      .header(
        'set-cookie',
        serializeCookie(loginCookieName(secure, pending.state), transaction, {
          secure,
          // Lax: the provider's redirect back is a cross-site navigation, on which a Strict cookie is not sent.
          sameSite: 'Lax',
          maxAge: LOGIN_TTL_SECONDS,
        }),
      )
      .header('cache-control', 'no-store')
      .redirect(url, 303);
  }

  /** The provider's answer: the code is exchanged (state, nonce, PKCE and issuer checked) and a session opens. */
  @Get('callback')
  async callback(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const oidc = this.sessions.oidc;
    if (!oidc) throw new GatewayError('NOT_FOUND', 'OpenID Connect login is not configured (console.oidc).');
    const secure = this.origin.secure(request);
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const params = new URLSearchParams(query);
    // The provider sends the sign-in's state back (with an error too): it names the cookie of that sign-in. A state
    // that is not ours names no cookie of this browser, and the transaction it holds is checked against it anyway.
    const state = params.get('state');
    const name = state === null ? undefined : loginCookieName(secure, state);
    const clearLogin = name && serializeCookie(name, '', { secure, sameSite: 'Lax', maxAge: 0 });
    const transaction = name === undefined ? undefined : readCookie(request, name);
    const raw = transaction === undefined ? undefined : await this.logins.take(loginKey(transaction));
    const signedOut = (reason: string) => {
      if (clearLogin) reply.header('set-cookie', clearLogin);
      reply.header('cache-control', 'no-store').redirect(`/console/#/signed-out?reason=${reason}`, 303);
    };
    if (raw === undefined) return void signedOut('login-expired');
    const refusal = params.get('error');
    if (refusal !== null) {
      this.logger.info(
        { console: 'login refused', reason: refusal.slice(0, 64) },
        'the identity provider refused the login',
      );
      return void signedOut('login-refused');
    }
    try {
      const tokens = await oidc.login.finish(JSON.parse(raw) as PendingLogin, query);
      const { cookie } = await this.sessions.openFromProvider(request, tokens);
      reply
        .header('set-cookie', clearLogin ? [clearLogin, cookie] : cookie)
        .header('cache-control', 'no-store')
        .redirect('/console/', 303);
    } catch (error) {
      if (error instanceof GatewayError && error.status === 503) throw error;
      this.logger.warn({ console: 'login failed', reason: reasonOf(error) }, 'console login failed');
      signedOut('login-failed');
    }
  }

  /**
   * Ends the session here (its refresh token revoked at the provider where possible) and tells the console where to
   * send the browser to end the provider's session too (RP-initiated logout).
   */
  @Post('logout')
  @HttpCode(200)
  async logout(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ redirect: string }> {
    assertFromConsole(request, this.origin.of(request));
    const { record, cookie } = await this.sessions.end(request);
    reply.header('set-cookie', cookie).header('cache-control', 'no-store');
    const oidc = this.sessions.oidc;
    if (record?.via === 'oidc' && oidc) {
      const refresh = record.tokens?.refresh;
      if (refresh !== undefined) {
        await oidc.login.revoke(refresh).catch((error: unknown) => {
          this.logger.info({ console: 'revoke failed', reason: reasonOf(error) }, 'refresh token revocation failed');
        });
      }
      const url = await oidc.login.endSessionUrl(`${this.origin.of(request)}/console/`).catch(() => undefined);
      if (url !== undefined) return { redirect: url };
    }
    return { redirect: '/console/#/signed-out?reason=logged-out' };
  }

  /** Who is signed in, with which scopes (the UI shows only what they allow), and how one may sign in. */
  @Get('session')
  async session(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<(ConsoleSessionView | SignedOut) & LoginMethods> {
    assertFromConsole(request, this.origin.of(request));
    reply.header('cache-control', 'no-store');
    const view = await this.sessions.view(request);
    return { ...(view ?? { signedIn: false }), login: this.loginMethods() };
  }

  /** Demo and labs only: an API key, pasted once, becomes a server-side session; the browser never keeps it. */
  @Post('api-key-session')
  @HttpCode(200)
  async apiKeySession(
    @Body() body: ApiKeyLoginDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ConsoleSessionView & LoginMethods> {
    if (!this.config.console.apiKeyLogin) {
      throw new GatewayError('NOT_FOUND', 'API-key login is not enabled (console.apiKeyLogin).');
    }
    assertFromConsole(request, this.origin.of(request));
    this.assertUsableOrigin(request);
    // The same limit on guessing as the X-API-Key header: this route is public, so the guard does not apply it.
    const retryAfter = this.failures.retryAfter(request.ip);
    if (retryAfter > 0) {
      throw new GatewayError(
        'RATE_LIMITED',
        `Too many failed sign-ins from your address; retry after ${retryAfter} s.`,
        {
          retryAfter,
        },
      );
    }
    const key = identifyApiKey(this.config.auth.apiKeys, body.apiKey);
    if (!key) {
      this.failures.failed(originOf(request), 'apiKey');
      this.logger.info({ console: 'api-key login refused' }, 'console api-key login refused: unknown key');
      throw new GatewayError('UNAUTHENTICATED', 'That API key is not known to this gateway.');
    }
    const { cookie, view } = await this.sessions.openFromApiKey(request, key);
    reply.header('set-cookie', cookie).header('cache-control', 'no-store');
    return { ...view, login: this.loginMethods() };
  }

  private loginMethods(): LoginMethods['login'] {
    return { oidc: this.sessions.oidc !== undefined, apiKey: this.config.console.apiKeyLogin };
  }

  private assertUsableOrigin(request: FastifyRequest): void {
    if (this.origin.usable(request)) return;
    throw new GatewayError(
      'VALIDATION_FAILED',
      'The console signs in over HTTPS only (or plain http on localhost): open it at its https:// address (console.publicUrl).',
    );
  }
}
