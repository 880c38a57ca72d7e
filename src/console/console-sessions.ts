import { errors as joseErrors } from 'jose';
import type { Logger } from 'pino';
import { apiKeyCaller, storedCaller } from '../auth/caller-id.js';
import { type Principal, principalFromApiKey, principalFromClaims } from '../auth/principal.js';
import {
  CONSOLE_BACKGROUND_REQUEST,
  CONSOLE_REQUEST_HEADER,
  type SessionLookup,
  type SessionRequest,
} from '../auth/session-lookup.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { canonicalText } from '../common/text.js';
import type { ApiKeyConfig, ConsoleConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';
import type { ApiKeyIdentity } from './api-key-login.js';
import type { ConsoleOrigin } from './console-origin.js';
import type { ConsoleSessionRecord, ConsoleSessionView } from './console-session.js';
import type { ConsoleStore } from './console-store.js';
import { cookieName, readCookie, SESSION_COOKIE, serializeCookie } from './cookies.js';
import { reasonOf } from './error-reason.js';
import type { OidcLogin, ProviderTokens } from './oidc-login.js';
import { randomId, sessionKey } from './store-keys.js';

/** An access token this close to expiry is refreshed before the request it would serve. */
const REFRESH_MARGIN_MS = 30_000;
/** How long another replica's refresh of the same session is waited for. */
const REFRESH_WAIT_MS = 3_000;
const MAX_CLAIM_LENGTH = 256;

/** The Set-Cookie that hands the browser its new session's id, and what the console may know of the session. */
export interface OpenedSession {
  cookie: string;
  view: ConsoleSessionView;
}

export interface ConsoleSessionsOptions {
  config: ConsoleConfig;
  store: ConsoleStore;
  /**
   * The configured API keys (`auth.apiKeys` of the gateway's configuration): an API-key session is looked up in them
   * on every use, so one whose key is gone ends, and one whose key lost scopes loses them too.
   */
  apiKeys?: readonly ApiKeyConfig[];
  origin: ConsoleOrigin;
  logger: Logger;
  /** Present when `console.oidc` is configured (with `auth.jwt` to verify its access tokens). */
  oidc?: { login: OidcLogin; verifier: TokenVerifier; issuer: string; clientId: string };
  now?: () => number;
}

/**
 * The console's sessions: opened after a login, found from the browser's cookie on every API call (this is the
 * SessionLookup the session strategy asks), ended on logout, when idle for `sessionIdleMinutes` (the console's
 * background reads do not count as use), after
 * `sessionAbsoluteHours` whatever happens, when the provider no longer renews its tokens, or (API-key sessions) when
 * their key or API-key sign-in is no longer configured. The browser holds a random 256-bit id; the store holds the
 * record under the id's SHA-256. A record read earlier is written back only while the session still exists
 * (ConsoleStore.update): a logout meanwhile is never undone.
 */
export class ConsoleSessions implements SessionLookup {
  readonly oidc: ConsoleSessionsOptions['oidc'];
  private readonly store: ConsoleStore;
  private readonly apiKeys: readonly ApiKeyConfig[];
  private readonly apiKeyLogin: boolean;
  private readonly origin: ConsoleOrigin;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly idleMs: number;
  private readonly absoluteMs: number;
  /** lastSeenAt is written back at most this often: an idle timeout of minutes needs no write per request. */
  private readonly touchMs: number;
  private readonly refreshing = new Map<string, Promise<ConsoleSessionRecord | undefined>>();

  constructor(options: ConsoleSessionsOptions) {
    this.store = options.store;
    this.apiKeys = options.apiKeys ?? [];
    this.apiKeyLogin = options.config.apiKeyLogin;
    this.origin = options.origin;
    this.logger = options.logger;
    this.oidc = options.oidc;
    this.now = options.now ?? Date.now;
    this.idleMs = options.config.sessionIdleMinutes * 60_000;
    this.absoluteMs = options.config.sessionAbsoluteHours * 3_600_000;
    this.touchMs = Math.min(60_000, this.idleMs / 10);
  }

  presented(request: SessionRequest): boolean {
    return this.cookieOf(request) !== undefined;
  }

  consoleOrigin(request: SessionRequest): string {
    return this.origin.of(request);
  }

  async principal(request: SessionRequest): Promise<Principal | undefined> {
    const record = await this.current(request);
    const caller = record && storedCaller(record.caller);
    if (!record || !caller) return undefined;
    return {
      caller,
      name: record.name,
      clientId: record.clientId,
      authMethod: 'session',
      scopes: new Set(record.scopes),
    };
  }

  async view(request: SessionRequest): Promise<ConsoleSessionView | undefined> {
    const record = await this.current(request);
    return record && this.viewOf(record);
  }

  private viewOf(record: ConsoleSessionRecord): ConsoleSessionView {
    return {
      signedIn: true,
      subject: record.caller,
      name: record.name,
      via: record.via,
      scopes: record.scopes,
      idleMinutes: this.idleMs / 60_000,
      expiresAt: new Date(record.createdAt + this.absoluteMs).toISOString(),
    };
  }

  /** After the provider's answer: the access token is verified as the API would verify it, then a session opens. */
  async openFromProvider(request: SessionRequest, tokens: ProviderTokens): Promise<OpenedSession> {
    const oidc = this.requireOidc();
    const person = principalFromClaims(oidc.issuer, { sub: tokens.subject });
    if (!person) throw new Error('the ID token names no subject');
    const verified = await oidc.verifier.verify(tokens.accessToken);
    if (verified.principal.caller !== person.caller) {
      throw new Error('the access token names another subject than the ID token');
    }
    const now = this.now();
    return this.open(request, {
      v: 2,
      via: 'oidc',
      caller: person.caller,
      name: tokens.name === undefined ? undefined : canonicalText(tokens.name, MAX_CLAIM_LENGTH),
      clientId: oidc.clientId,
      scopes: [...verified.principal.scopes],
      createdAt: now,
      lastSeenAt: now,
      tokens: { access: tokens.accessToken, accessExpiresAt: verified.expiresAt, refresh: tokens.refreshToken },
    });
  }

  openFromApiKey(request: SessionRequest, key: ApiKeyIdentity): Promise<OpenedSession> {
    const now = this.now();
    const principal = principalFromApiKey(key);
    return this.open(request, {
      v: 2,
      via: 'apiKey',
      caller: principal.caller,
      name: key.name,
      clientId: key.id,
      scopes: [...principal.scopes],
      createdAt: now,
      lastSeenAt: now,
      apiKeySha256: key.sha256.toLowerCase(),
    });
  }

  /** Ends the request's session; returns what the provider should forget too, and the cookie that clears it. */
  async end(request: SessionRequest): Promise<{ record: ConsoleSessionRecord | undefined; cookie: string }> {
    const id = this.cookieOf(request);
    const raw = id === undefined ? undefined : await this.store.take(sessionKey(id));
    return { record: raw === undefined ? undefined : parseRecord(raw), cookie: this.clearCookie(request) };
  }

  clearCookie(request: SessionRequest): string {
    const secure = this.origin.secure(request);
    return serializeCookie(cookieName(SESSION_COOKIE, secure), '', { secure, sameSite: 'Strict', maxAge: 0 });
  }

  /** A fresh id for every login (no session fixation); a session the browser still held is ended first. */
  private async open(request: SessionRequest, record: ConsoleSessionRecord): Promise<OpenedSession> {
    const previous = this.cookieOf(request);
    if (previous !== undefined) await this.store.delete(sessionKey(previous));
    const id = randomId();
    await this.save(sessionKey(id), record);
    const secure = this.origin.secure(request);
    this.logger.info(
      { console: 'session opened', caller: record.caller, via: record.via, scopes: record.scopes },
      'console session opened',
    );
    const cookie = serializeCookie(cookieName(SESSION_COOKIE, secure), id, {
      secure,
      sameSite: 'Strict',
      maxAge: Math.floor(this.absoluteMs / 1000),
    });
    return { cookie, view: this.viewOf(record) };
  }

  private async current(request: SessionRequest): Promise<ConsoleSessionRecord | undefined> {
    const id = this.cookieOf(request);
    if (id === undefined) return undefined;
    const key = sessionKey(id);
    const raw = await this.store.get(key);
    let record = raw === undefined ? undefined : parseRecord(raw);
    if (!record) return undefined;
    const now = this.now();
    if (now - record.lastSeenAt >= this.idleMs || now >= record.createdAt + this.absoluteMs) {
      await this.store.delete(key);
      return undefined;
    }
    // What an API-key session may do now (its key may have lost scopes since); the record keeps those of its login.
    let scopes: string[] | undefined;
    if (record.via === 'apiKey') {
      scopes = this.apiKeyScopes(record);
      if (!scopes) {
        this.logger.info(
          {
            console: 'session ended',
            caller: record.caller,
            reason: this.apiKeyLogin ? 'api key gone' : 'api-key login off',
          },
          'console session ended: its API key, or API-key sign-in, is no longer configured',
        );
        await this.store.delete(key);
        return undefined;
      }
    }
    if (record.tokens && record.tokens.accessExpiresAt - now < REFRESH_MARGIN_MS) {
      record = await this.refreshedOnce(key, record);
      if (!record) return undefined;
    }
    // A page left open refreshes itself; those reads must not keep a session alive that nobody is using.
    const background = request.headers[CONSOLE_REQUEST_HEADER] === CONSOLE_BACKGROUND_REQUEST;
    if (!background && now - record.lastSeenAt >= this.touchMs) {
      record = { ...record, lastSeenAt: now };
      // A logout since this request read the record has ended the session: it stays ended, and so does this request.
      if (!(await this.update(key, record))) return undefined;
    }
    return scopes ? { ...record, scopes } : record;
  }

  /**
   * The scopes an API-key session has now: those it was opened with that its key, looked up again in the
   * configuration, still has (never more than at its login). Undefined when API-key sign-in is off, or its key is gone (removed, or replaced under
   * the same id: the digest differs).
   */
  private apiKeyScopes(record: ConsoleSessionRecord): string[] | undefined {
    if (!this.apiKeyLogin || record.apiKeySha256 === undefined) return undefined;
    const key = this.apiKeys.find(
      (candidate) =>
        apiKeyCaller(candidate.id) === record.caller && candidate.sha256.toLowerCase() === record.apiKeySha256,
    );
    if (!key) return undefined;
    const granted = new Set(key.scopes);
    return record.scopes.filter((scope) => granted.has(scope));
  }

  private refreshedOnce(key: string, record: ConsoleSessionRecord): Promise<ConsoleSessionRecord | undefined> {
    let flight = this.refreshing.get(key);
    if (!flight) {
      flight = this.refreshed(key, record).finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, flight);
    }
    return flight;
  }

  /**
   * New tokens from the provider, shortly before the access token expires: the session's scopes follow the new
   * token, and a user the provider no longer renews for (disabled, consent withdrawn) is signed out here. A provider
   * that does not answer (its token endpoint, or the key set the new token is checked against) leaves the session
   * alive while its current access token is. A session ended meanwhile (logout) stays ended, and the refresh token
   * the provider just issued for it is revoked.
   */
  private async refreshed(key: string, record: ConsoleSessionRecord): Promise<ConsoleSessionRecord | undefined> {
    const tokens = record.tokens;
    const oidc = this.oidc;
    if (!tokens || !oidc || tokens.refresh === undefined) {
      if (tokens && tokens.accessExpiresAt > this.now()) return record;
      await this.store.delete(key);
      return undefined;
    }
    // Replicas share the session: one refreshes (a refresh token may be single-use), the others wait for its result.
    if (!(await this.store.lock(`refresh:${key}`, 10_000))) return this.awaitOtherRefresh(key, record);
    // Once the provider answered, its refresh token is the one that works (the old one may be used up), whatever
    // happens next.
    let renewed: ProviderTokens | undefined;
    try {
      renewed = await oidc.login.refresh(tokens.refresh);
      const verified = await oidc.verifier.verify(renewed.accessToken);
      if (verified.principal.caller !== record.caller) {
        throw new joseErrors.JWTClaimValidationFailed('the renewed access token names another subject', {}, 'sub');
      }
      const next: ConsoleSessionRecord = {
        ...record,
        scopes: [...verified.principal.scopes],
        tokens: {
          access: renewed.accessToken,
          accessExpiresAt: verified.expiresAt,
          refresh: renewed.refreshToken ?? tokens.refresh,
        },
      };
      return await this.writeBackRefreshed(key, next, oidc);
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      if (oidc.login.isRefused(error) || (error instanceof joseErrors.JOSEError && !keySetUnavailable(error))) {
        this.logger.info(
          { console: 'session ended', caller: record.caller, reason: reasonOf(error) },
          'console session ended: the identity provider no longer renews its tokens',
        );
        await this.store.delete(key);
        return undefined;
      }
      const rotated = renewed?.refreshToken;
      if (rotated !== undefined && rotated !== tokens.refresh) {
        const kept = await this.writeBackRefreshed(key, { ...record, tokens: { ...tokens, refresh: rotated } }, oidc);
        if (!kept) return undefined;
        record = kept;
      }
      if (tokens.accessExpiresAt > this.now()) return record;
      this.logger.warn({ console: 'refresh failed', reason: reasonOf(error) }, 'identity provider unreachable');
      throw new GatewayError(
        'SERVICE_UNAVAILABLE',
        'The identity provider does not answer, so your console session cannot be renewed; try again shortly.',
        { retryAfter: 5 },
      );
    } finally {
      await this.store.unlock(`refresh:${key}`).catch(() => undefined);
    }
  }

  private async awaitOtherRefresh(
    key: string,
    record: ConsoleSessionRecord,
  ): Promise<ConsoleSessionRecord | undefined> {
    const deadline = this.now() + REFRESH_WAIT_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const raw = await this.store.get(key);
      const latest = raw === undefined ? undefined : parseRecord(raw);
      if (!latest) return undefined;
      if (latest.tokens?.access !== record.tokens?.access) return latest;
    }
    return record.tokens && record.tokens.accessExpiresAt > this.now() ? record : undefined;
  }

  /**
   * Writes back a refresh's record; when the session is gone (a logout while the provider answered), revokes the
   * refresh token in it, which that logout never saw, as the logout would have, and signs the request out.
   */
  private async writeBackRefreshed(
    key: string,
    record: ConsoleSessionRecord,
    oidc: NonNullable<ConsoleSessionsOptions['oidc']>,
  ): Promise<ConsoleSessionRecord | undefined> {
    if (await this.update(key, record)) return record;
    this.logger.info(
      { console: 'session ended', caller: record.caller, reason: 'ended during refresh' },
      'console session ended while its tokens were refreshed: the new refresh token is revoked',
    );
    const refresh = record.tokens?.refresh;
    if (refresh !== undefined) {
      await oidc.login.revoke(refresh).catch((error: unknown) => {
        this.logger.info({ console: 'revoke failed', reason: reasonOf(error) }, 'refresh token revocation failed');
      });
    }
    return undefined;
  }

  /** A new session's record. */
  private async save(key: string, record: ConsoleSessionRecord): Promise<void> {
    await this.store.set(key, JSON.stringify(record), this.ttlOf(record));
  }

  /** An existing session's record, written only while the session still exists: false when it is gone. */
  private update(key: string, record: ConsoleSessionRecord): Promise<boolean> {
    return this.store.update(key, JSON.stringify(record), this.ttlOf(record));
  }

  private ttlOf(record: ConsoleSessionRecord): number {
    const now = this.now();
    return Math.min(this.idleMs - (now - record.lastSeenAt), record.createdAt + this.absoluteMs - now);
  }

  private cookieOf(request: SessionRequest): string | undefined {
    return readCookie(request, cookieName(SESSION_COOKIE, this.origin.secure(request)));
  }

  private requireOidc(): NonNullable<ConsoleSessionsOptions['oidc']> {
    if (!this.oidc) throw new GatewayError('NOT_FOUND', 'OpenID Connect login is not configured (console.oidc).');
    return this.oidc;
  }
}

/**
 * jose's errors of fetching the provider's key set, not of the token checked against it: a fetch that timed out
 * (JWKSTimeout), an answer other than 200 or no JSON (the base JOSEError, ERR_JOSE_GENERIC, which jose raises for
 * nothing else), a body that is no key set (JWKSInvalid). The provider not answering, not refusing the user.
 */
function keySetUnavailable(error: joseErrors.JOSEError): boolean {
  return (
    error instanceof joseErrors.JWKSTimeout ||
    error instanceof joseErrors.JWKSInvalid ||
    error.code === joseErrors.JOSEError.code
  );
}

function parseRecord(raw: string): ConsoleSessionRecord | undefined {
  try {
    const record = JSON.parse(raw) as ConsoleSessionRecord;
    return record.v === 2 ? record : undefined;
  } catch {
    return undefined;
  }
}
