/**
 * A real OpenID provider for the console's tests: oidc-provider (v9) on loopback, with a login form of its own
 * (a user directory with passwords and the API scopes each user may be granted), authorization code + PKCE, refresh
 * tokens, revocation and RP-initiated logout. Access tokens for the API are RFC 9068 JWTs (resource indicator
 * API_AUDIENCE), signed with the provider's key and verified by the gateway through the provider's JWKS, exactly
 * as the gateway's `auth.jwt` verifies any bearer token. No page of it loads anything from another host.
 */
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

export const API_AUDIENCE = 'urn:backup-gateway:api';
export const CONSOLE_CLIENT_ID = 'backup-console';
export const CONSOLE_CLIENT_SECRET = 'console-client-secret-for-tests-only-0123456789';
const API_SCOPES = ['backups:read', 'backups:run', 'audit:read'];

export interface TestUser {
  password: string;
  name: string;
  /** The API scopes this user may be granted; others the console asks for are refused at consent. */
  scopes: string[];
}

export interface ProviderOptions {
  users: Record<string, TestUser>;
  /** Seconds an access token lives (short, to see the gateway refresh it). */
  accessTokenTtl?: number;
  /** A new refresh token with every refresh, the old one used up (as for public clients, and many providers do). */
  rotateRefreshTokens?: boolean;
}

export class TestOpenIdProvider {
  url = '';
  provider: Provider | undefined;
  /** Token endpoint grants seen, by grant type (authorization_code, refresh_token). */
  readonly grants: string[] = [];
  /** Refresh tokens issued, in order (the test's own record; the gateway never shows them). */
  readonly refreshTokensIssued: string[] = [];
  /** Tokens the gateway asked to revoke (RFC 7009), in order. */
  readonly revoked: string[] = [];
  /**
   * A provider having trouble: its JWKS answers 503, or its token endpoint answers 400 with this OAuth error.
   * Cleared by setting them back.
   */
  readonly trouble: { jwks503: boolean; tokenError: string | undefined } = { jwks503: false, tokenError: undefined };
  /** Requests held (holdRequests), waiting for their release. */
  held = 0;
  private hold: { path: string; released: Promise<void> } | undefined;
  private server?: http.Server;

  constructor(private readonly options: ProviderOptions) {}

  get issuer(): string {
    return this.url;
  }

  async start(): Promise<this> {
    this.server = http.createServer((request, response) => {
      if (!this.provider) {
        response.writeHead(503).end();
        return;
      }
      const path = (request.url ?? '').split('?')[0];
      if (path === '/jwks' && this.trouble.jwks503) {
        response.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
        return;
      }
      if (path === '/token' && this.trouble.tokenError !== undefined) {
        response
          .writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify({ error: this.trouble.tokenError }));
        return;
      }
      if (path === this.hold?.path) {
        this.held++;
        const provider = this.provider;
        void this.hold.released.then(() => provider.callback()(request, response));
        return;
      }
      if (path.startsWith('/interaction/')) {
        this.interaction(request, response).catch((error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
        });
        return;
      }
      this.provider.callback()(request, response);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The client needs the console's address (redirect URIs); the gateway needs the issuer first, so this comes second. */
  register(consoleOrigins: string[]): void {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ttl = this.options.accessTokenTtl ?? 300;
    const configuration: Configuration = {
      clients: [
        {
          client_id: CONSOLE_CLIENT_ID,
          client_secret: CONSOLE_CLIENT_SECRET,
          redirect_uris: consoleOrigins.map((origin) => `${origin}/console/callback`),
          post_logout_redirect_uris: consoleOrigins.map((origin) => `${origin}/console/`),
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'op-1', alg: 'RS256', use: 'sig' } as never] },
      scopes: ['openid', 'profile', 'offline_access'],
      claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
      // The console names the human from the ID token: its profile claims go in the ID token itself.
      conformIdTokenClaims: false,
      pkce: { required: () => true },
      findAccount: (_ctx, id) => {
        const user = this.options.users[id];
        if (!user || this.disabled.has(id)) return undefined;
        return { accountId: id, claims: () => ({ sub: id, name: user.name, preferred_username: id }) };
      },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      ...(this.options.rotateRefreshTokens && { rotateRefreshToken: true }),
      cookies: { keys: ['test-provider-cookie-key-0123456789'] },
      ttl: { AccessToken: ttl, IdToken: 300, RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600 },
      features: {
        devInteractions: { enabled: false },
        revocation: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: async () => API_AUDIENCE,
          useGrantedResource: async () => true,
          getResourceServerInfo: async () => ({
            scope: API_SCOPES.join(' '),
            audience: API_AUDIENCE,
            accessTokenFormat: 'jwt',
            accessTokenTTL: ttl,
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: async (ctx: KoaContextWithOIDC, form: string) => {
            ctx.body = page(
              'Sign out',
              `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>`,
            );
          },
          postLogoutSuccessSource: async (ctx: KoaContextWithOIDC) => {
            ctx.body = page('Signed out', '<p>You are signed out.</p>');
          },
        },
      },
      renderError: async (ctx, out) => {
        ctx.type = 'html';
        ctx.body = page('Error', `<pre>${htmlEscape(JSON.stringify(out))}</pre>`);
      },
    };
    this.provider = new Provider(this.issuer, configuration);
    this.provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
      this.grants.push(String(ctx.oidc.params?.grant_type));
      const issued = (ctx.body as { refresh_token?: unknown } | undefined)?.refresh_token;
      if (typeof issued === 'string') this.refreshTokensIssued.push(issued);
    });
    this.provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/token/revocation' && ctx.status === 200) this.revoked.push(String(ctx.oidc?.params?.token));
    });
  }

  /**
   * Requests to `path` (`/jwks`, `/token`) get no answer until the returned function is called: they wait (counted
   * in `held`), then go through in order. A provider that is slow, while the gateway does something else.
   */
  holdRequests(path: string): () => void {
    let release = () => {};
    this.hold = {
      path,
      released: new Promise<void>((resolve) => {
        release = resolve;
      }),
    };
    return () => {
      this.hold = undefined;
      release();
    };
  }

  /**
   * An administrator disables a user: the provider no longer finds the account, so its refresh tokens are refused
   * (`invalid_grant`) from now on.
   */
  disable(accountId: string): void {
    this.disabled.add(accountId);
  }

  private readonly disabled = new Set<string>();

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // The gateway's HTTP client keeps connections to the provider alive; closing them lets the test process exit.
    server.closeAllConnections();
    await closed;
  }

  private async interaction(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const provider = this.provider as Provider;
    const details = await provider.interactionDetails(request, response);
    const uid = details.uid;
    if (details.prompt.name === 'login') {
      if (request.method === 'POST') {
        const form = new URLSearchParams(await body(request));
        const username = form.get('username') ?? '';
        const user = this.options.users[username];
        if (!user || user.password !== form.get('password')) {
          return send(response, loginForm(uid, 'Wrong username or password.'));
        }
        await provider.interactionFinished(
          request,
          response,
          { login: { accountId: username } },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      return send(response, loginForm(uid));
    }
    // Consent, decided by the directory: the API scopes the user holds are granted, the others refused.
    const accountId = details.session?.accountId as string;
    const user = this.options.users[accountId];
    const grant = details.grantId
      ? ((await provider.Grant.find(details.grantId)) as InstanceType<Provider['Grant']>)
      : new provider.Grant({ accountId, clientId: details.params.client_id as string });
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      const allowed = scopes.filter((scope) => user?.scopes.includes(scope));
      const refused = scopes.filter((scope) => !allowed.includes(scope));
      if (allowed.length > 0) grant.addResourceScope(indicator, allowed.join(' '));
      if (refused.length > 0) grant.rejectResourceScope(indicator, refused.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(request, response, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
}

function loginForm(uid: string, error?: string): string {
  return page(
    'Sign in',
    `${error ? `<p role="alert">${htmlEscape(error)}</p>` : ''}
    <form method="post" action="/interaction/${htmlEscape(uid)}">
      <label for="username">Username</label> <input id="username" name="username" autocomplete="username">
      <label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password">
      <button type="submit">Sign in</button>
    </form>`,
  );
}

function page(title: string, content: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${title} - Test provider</title></head><body><h1>${title}</h1>${content}</body></html>`;
}

function send(response: http.ServerResponse, html: string): void {
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
}

function htmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function body(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
