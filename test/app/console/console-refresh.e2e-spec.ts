/**
 * Server-side token refresh against a real OpenID provider (loopback HTTP, real signed tokens) when things go wrong
 * around it: a logout while the provider is still answering the refresh, and a provider whose key set or token
 * endpoint has a hiccup. Each test has a world of its own with access tokens living 31 s, within the gateway's 30 s
 * refresh margin after one second; one world at a time (passport's strategies are process-wide).
 */
import { type ConsoleWorld, startConsoleWorld, USERS } from '../../support/console/console-world.js';
import { loginOverHttp } from '../../support/console/http-login.js';
import { waitFor } from '../../support/wait-for.js';

const CONSOLE_HEADER = { 'x-console-request': '1' };

describe('console token refresh', () => {
  let world: ConsoleWorld | undefined;

  afterEach(async () => {
    await world?.stop();
    world = undefined;
  });

  /** Alice signed in; `call` sends a console request with her cookie. */
  async function signedIn(current: ConsoleWorld) {
    const trace = await loginOverHttp(current.gateway.url, 'alice', USERS.alice.password);
    const cookie = `bg-session=${trace.jar.get(current.gateway.url, 'bg-session')}`;
    const call = (path: string, method = 'GET') =>
      fetch(`${current.gateway.url}${path}`, {
        method,
        headers: { cookie, ...CONSOLE_HEADER, origin: current.gateway.url },
      });
    const signedInNow = async () => ((await (await call('/console/session')).json()) as { signedIn: boolean }).signedIn;
    return { call, signedInNow };
  }

  /**
   * A world whose access tokens live 31 s (so every request refreshes, 30 s ahead of expiry), whose refresh tokens
   * rotate (the one a refresh used up is no good any more), and whose gateway fetches the key set again after a
   * second, so that a refresh's new token is checked against a fresh one; signed in, and that second waited out.
   */
  async function dueForRefresh() {
    world = await startConsoleWorld({
      accessTokenTtl: 31,
      rotateRefreshTokens: true,
      jwt: { jwksCacheMaxAgeMs: 1000 },
    });
    const session = await signedIn(world);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    return { gateway: world.gateway, provider: world.provider, ...session };
  }

  it('a logout while a refresh is under way stays a logout; the refresh token issued meanwhile is revoked', async () => {
    const { gateway, provider, call, signedInNow } = await dueForRefresh();

    // A request needing a refresh reads the session and gets new tokens (a new refresh token: the old one is used
    // up), then waits for the key set to check them; the user logs out meanwhile, revoking the refresh token the
    // session held when the logout read it.
    const release = provider.holdRequests('/jwks');
    const inFlight = call('/appliances');
    await waitFor(() => provider.held === 1);
    expect(provider.grants).toEqual(['authorization_code', 'refresh_token']);
    const [first, issued] = provider.refreshTokensIssued;
    expect(issued).toBeDefined();
    expect(issued).not.toBe(first);
    const logout = await call('/console/logout', 'POST');
    expect(logout.status).toBe(200);
    expect(provider.revoked).toEqual([first]);
    release();

    // The refresh finishes after the logout: signed out, and its new refresh token revoked as the logout would have.
    expect((await inFlight).status).toBe(401);
    expect(provider.revoked).toEqual([first, issued]);
    // The cookie names no session: not now, not after another look.
    expect(await signedInNow()).toBe(false);
    expect((await call('/appliances')).status).toBe(401);
    expect(gateway.logs.join('\n')).not.toContain(issued);
  });

  it('a key set or token endpoint that does not answer keeps the session while its access token lives', async () => {
    const { gateway, provider, call, signedInNow } = await dueForRefresh();

    // The JWKS answers 503: the refresh's new token cannot be checked yet; the current one still lives ~29 s.
    provider.trouble.jwks503 = true;
    expect((await call('/appliances')).status).toBe(200);
    expect(provider.grants).toEqual(['authorization_code', 'refresh_token']);
    expect(await signedInNow()).toBe(true);

    // The token endpoint says "later" in an OAuth error body: not a refusal of the user either.
    provider.trouble.jwks503 = false;
    provider.trouble.tokenError = 'temporarily_unavailable';
    expect((await call('/appliances')).status).toBe(200);
    expect(await signedInNow()).toBe(true);

    // Both back: the next request renews the tokens (with the refresh token the failed refresh was given), and the
    // session goes on.
    provider.trouble.tokenError = undefined;
    expect((await call('/appliances')).status).toBe(200);
    expect(provider.grants.filter((grant) => grant === 'refresh_token').length).toBeGreaterThanOrEqual(2);
    expect(await signedInNow()).toBe(true);
    expect(gateway.logs.join('\n')).not.toContain('no longer renews its tokens');

    // A refusal still signs the user out at the next refresh.
    provider.trouble.tokenError = 'invalid_grant';
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await call('/appliances')).status).toBe(401);
    expect(gateway.logs.join('\n')).toContain('the identity provider no longer renews its tokens');
  });
});
