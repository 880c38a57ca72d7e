import * as oidc from 'openid-client';
import type { ConsoleOidcConfig } from '../config/gateway-config.js';

/** OAuth error codes that mean the provider cannot answer now, not that it refuses. */
const TRY_LATER = new Set(['temporarily_unavailable', 'server_error']);

/** What the login transaction keeps between the redirect to the provider and its answer. */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
}

export interface ProviderTokens {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** From the ID token (at login only). */
  subject?: string;
  name?: string;
}

/**
 * The console's OpenID Connect relying party (openid-client v6): authorization code flow with PKCE (S256), state and
 * nonce, the client authenticated with its secret (HTTP Basic), refresh and revocation, RP-initiated logout. The
 * provider's metadata is discovered on first use and kept; a failed discovery is tried again on the next login, so a
 * provider that is down at start-up does not keep the console down.
 */
export class OidcLogin {
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(private readonly config: ConsoleOidcConfig) {}

  /**
   * A new login's secrets, made without asking the provider: the transaction is admitted (or refused) before an
   * anonymous request can make the gateway contact anyone.
   */
  pending(redirectUri: string): PendingLogin {
    return {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
      redirectUri,
    };
  }

  /** Where the browser goes to sign in at the provider for `pending`. */
  async authorizationUrl(pending: PendingLogin): Promise<string> {
    const configuration = await this.provider();
    const scopes = new Set(['openid', ...this.config.scopes]);
    return oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: pending.redirectUri,
      scope: [...scopes].join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    }).href;
  }

  /** Exchanges the code of the provider's answer (`query`: the callback's query string) for tokens. */
  async finish(pending: PendingLogin, query: string): Promise<ProviderTokens> {
    const configuration = await this.provider();
    const callback = new URL(pending.redirectUri);
    callback.search = query;
    const tokens = await oidc.authorizationCodeGrant(configuration, callback, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    const name = claims?.name ?? claims?.preferred_username;
    return {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      idToken: tokens.id_token,
      subject: claims?.sub,
      name: typeof name === 'string' ? name : undefined,
    };
  }

  async refresh(refreshToken: string): Promise<ProviderTokens> {
    const tokens = await oidc.refreshTokenGrant(await this.provider(), refreshToken);
    return { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, idToken: tokens.id_token };
  }

  /** Best effort: the refresh token dies with the session, where the provider offers revocation (RFC 7009). */
  async revoke(refreshToken: string): Promise<void> {
    const configuration = await this.provider();
    if (configuration.serverMetadata().revocation_endpoint === undefined) return;
    await oidc.tokenRevocation(configuration, refreshToken, { token_type_hint: 'refresh_token' });
  }

  /**
   * RP-initiated logout: where the browser goes to end its session at the provider, then back to the console. The
   * URL names the client, never the ID token (`id_token_hint` would put a token in the browser's address bar and
   * history); providers then ask the user to confirm.
   */
  async endSessionUrl(postLogoutRedirectUri: string): Promise<string | undefined> {
    const configuration = await this.provider();
    if (configuration.serverMetadata().end_session_endpoint === undefined) return undefined;
    return oidc.buildEndSessionUrl(configuration, {
      client_id: this.config.clientId,
      post_logout_redirect_uri: postLogoutRedirectUri,
    }).href;
  }

  /**
   * Whether the provider answered with an OAuth error (`invalid_grant`: the user must log in again; any other: the
   * client is misconfigured) rather than not answering at all. An error that says "later" (`temporarily_unavailable`,
   * `server_error`, RFC 6749 §4.1.2.1, which some providers send from their token endpoint too) is a provider not
   * answering for now, not a refusal.
   */
  isRefused(error: unknown): boolean {
    return error instanceof oidc.ResponseBodyError && !TRY_LATER.has(error.error);
  }

  private provider(): Promise<oidc.Configuration> {
    if (!this.configuration) {
      const issuer = new URL(this.config.issuer);
      // Plain http only on loopback (tests, a provider in the same pod); openid-client refuses it otherwise.
      const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);
      this.configuration = oidc.discovery(
        issuer,
        this.config.clientId,
        undefined,
        oidc.ClientSecretBasic(this.config.clientSecret),
        { execute: issuer.protocol === 'http:' && loopback ? [oidc.allowInsecureRequests] : [], timeout: 5 },
      );
      this.configuration.catch(() => {
        this.configuration = undefined;
      });
    }
    return this.configuration;
  }
}
