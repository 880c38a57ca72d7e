/**
 * The console's backend-for-frontend over real HTTP, without a browser: the cookies it sets, the CSRF rules on
 * session-authenticated requests, the single-use login transaction, server-side token refresh against a real
 * OpenID provider, logout, and that no secret reaches a response or a log line.
 */

import { loginCookieName } from '../../../src/console/cookies.js';
import { type ConsoleWorld, LAB_API_KEY, startConsoleWorld, USERS } from '../../support/console/console-world.js';
import { CookieJar, loginOverHttp } from '../../support/console/http-login.js';
import { startGateway, type TestGateway } from '../../support/gateway.js';
import { sha256Hex } from '../../support/identity-provider.js';

const CONSOLE_HEADER = { 'x-console-request': '1' };

describe('console backend-for-frontend', () => {
  let world: ConsoleWorld;

  beforeAll(async () => {
    world = await startConsoleWorld();
  });

  afterAll(async () => {
    await world?.stop();
  });

  /** A request as the console sends it, with a session cookie; `origin: null` leaves the Origin header out. */
  function asConsole(
    path: string,
    cookie: string,
    options: { method?: string; body?: unknown; origin?: string | null; consoleHeader?: boolean } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { cookie };
    if (options.consoleHeader !== false) Object.assign(headers, CONSOLE_HEADER);
    if (options.origin !== null) headers.origin = options.origin ?? world.gateway.url;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${world.gateway.url}${path}`, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  }

  async function apiKeySession(gateway = world.gateway, origin = gateway.url): Promise<string> {
    const response = await fetch(`${gateway.url}/console/api-key-session`, {
      method: 'POST',
      headers: { ...CONSOLE_HEADER, origin, 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: LAB_API_KEY }),
    });
    expect(response.status).toBe(200);
    return response.headers.getSetCookie()[0].split(';')[0];
  }

  it('an OpenID login ends in an opaque, HttpOnly, SameSite=Strict session cookie; the login cookie is Lax and short', async () => {
    const trace = await loginOverHttp(world.gateway.url, 'alice', USERS.alice.password);
    expect(trace.landedAt).toBe(`${world.gateway.url}/console/`);
    const [login] = trace.gatewayCookies.find((c) => c.path === '/console/login')?.setCookie ?? [];
    expect(login).toMatch(
      /^bg-login-[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=300$/,
    );
    const loginName = login.split('=')[0];
    const callback = trace.gatewayCookies.find((c) => c.path === '/console/callback')?.setCookie ?? [];
    expect(callback).toEqual([
      `${loginName}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`,
      expect.stringMatching(/^bg-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/),
    ]);
    const cookie = `bg-session=${trace.jar.get(world.gateway.url, 'bg-session')}`;
    const session = await asConsole('/console/session', cookie);
    expect(await session.json()).toEqual({
      signedIn: true,
      subject: `jwt:${world.provider.issuer}:alice`,
      name: 'Alice Operator',
      via: 'oidc',
      scopes: ['backups:read', 'backups:run', 'audit:read'],
      idleMinutes: 30,
      expiresAt: expect.any(String),
      login: { oidc: true, apiKey: true },
    });
    expect(session.headers.get('cache-control')).toBe('no-store');
  });

  it('the login transaction is used once and only with the browser that started it', async () => {
    const trace = await loginOverHttp(world.gateway.url, 'alice', USERS.alice.password);
    const callback = trace.callbackUrl as string;
    // The same callback again, with the same (now cleared) login cookie, or from a browser that never started it.
    const [login] = trace.gatewayCookies.find((c) => c.path === '/console/login')?.setCookie ?? [];
    for (const cookie of ['', `${login.split('=')[0]}=${'A'.repeat(43)}`]) {
      const replay = await fetch(callback, { redirect: 'manual', headers: { cookie } });
      expect(replay.status).toBe(303);
      expect(replay.headers.get('location')).toBe('/console/#/signed-out?reason=login-expired');
      expect(replay.headers.getSetCookie().some((line) => line.startsWith('bg-session='))).toBe(false);
    }
    // A login whose answer was tampered with (another state) finds no login cookie of that state: nothing opens, and
    // the browser's own sign-in is left as it was.
    const start = await fetch(`${world.gateway.url}/console/login`, { redirect: 'manual' });
    const [name, transaction] = start.headers.getSetCookie()[0].split(';')[0].split('=');
    const forged = (cookie: string) =>
      fetch(`${world.gateway.url}/console/callback?code=x&state=forged&iss=${world.provider.issuer}`, {
        redirect: 'manual',
        headers: { cookie },
      });
    expect((await forged(`${name}=${transaction}`)).headers.get('location')).toBe(
      '/console/#/signed-out?reason=login-expired',
    );
    // Even under the forged state's own cookie name, the transaction's state is checked: it fails, and is used up.
    const planted = await forged(`${loginCookieName(false, 'forged')}=${transaction}`);
    expect(planted.headers.get('location')).toBe('/console/#/signed-out?reason=login-failed');
    expect((await forged(`${loginCookieName(false, 'forged')}=${transaction}`)).headers.get('location')).toBe(
      '/console/#/signed-out?reason=login-expired',
    );
  });

  it('two tabs signing in at once: each callback finds its own login and opens a session', async () => {
    const jar = new CookieJar();
    const first = await loginOverHttp(world.gateway.url, 'alice', USERS.alice.password, jar, { stopAtCallback: true });
    const second = await loginOverHttp(world.gateway.url, 'alice', USERS.alice.password, jar, { stopAtCallback: true });
    for (const url of [first.callbackUrl, second.callbackUrl] as string[]) {
      const answer = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) } });
      jar.take(url, answer);
      expect(answer.headers.get('location')).toBe('/console/');
      expect(answer.headers.getSetCookie().some((line) => line.startsWith('bg-session='))).toBe(true);
    }
  });

  it('a session request must carry X-Console-Request and come from the console origin; nothing runs otherwise', async () => {
    const cookie = await apiKeySession();
    const runs = world.appliances['vc-a'].counters.runs;
    const noHeader = await asConsole('/appliances', cookie, { consoleHeader: false });
    expect(noHeader.status).toBe(403);
    expect(await noHeader.json()).toMatchObject({
      code: 'FORBIDDEN',
      detail: expect.stringContaining('X-Console-Request'),
    });
    const foreign = await asConsole('/appliances', cookie, { origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { detail: string }).detail).toContain('another origin');
    const run = '/appliances/vc-a/backups/schedules/default/run';
    for (const refused of [
      await asConsole(run, cookie, { method: 'POST', body: {}, origin: null }),
      await asConsole(run, cookie, { method: 'POST', body: {}, origin: 'http://127.0.0.1:1' }),
      await asConsole(run, cookie, { method: 'POST', body: {}, consoleHeader: false }),
    ]) {
      expect(refused.status).toBe(403);
    }
    expect(world.appliances['vc-a'].counters.runs).toBe(runs);

    // The same requests as the console sends them go through: the refusals were the CSRF rule.
    expect((await asConsole('/appliances', cookie)).status).toBe(200);
    expect((await asConsole('/appliances', cookie, { origin: null })).status).toBe(200);
    const accepted = await asConsole(run, cookie, { method: 'POST', body: { comment: 'bff test' } });
    expect(accepted.status).toBe(202);
    expect(world.appliances['vc-a'].counters.runs).toBe(runs + 1);
  });

  it('bearer tokens and API keys are unchanged: no console header or origin rule, whatever cookie comes along', async () => {
    const cookie = await apiKeySession();
    const withKey = await fetch(`${world.gateway.url}/appliances`, {
      headers: { 'x-api-key': LAB_API_KEY, origin: 'http://evil.example', cookie },
    });
    expect(withKey.status).toBe(200);
    const noCredentials = await fetch(`${world.gateway.url}/appliances`, {
      headers: { origin: 'http://evil.example' },
    });
    expect(noCredentials.status).toBe(401);
    expect(noCredentials.headers.get('www-authenticate')).toBe('Bearer realm="backup-gateway"');
  });

  it('logout ends the session, and sends the browser to end the provider session without any token in the URL', async () => {
    const trace = await loginOverHttp(world.gateway.url, 'alice', USERS.alice.password);
    const cookie = `bg-session=${trace.jar.get(world.gateway.url, 'bg-session')}`;
    // Logout is a console request like any other: a cross-site page cannot log anyone out.
    expect((await asConsole('/console/logout', cookie, { method: 'POST', origin: 'http://evil.example' })).status).toBe(
      403,
    );
    const logout = await asConsole('/console/logout', cookie, { method: 'POST' });
    expect(logout.status).toBe(200);
    expect(logout.headers.getSetCookie()).toEqual(['bg-session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0']);
    const { redirect } = (await logout.json()) as { redirect: string };
    const endSession = new URL(redirect);
    expect(`${endSession.origin}${endSession.pathname}`).toBe(`${world.provider.issuer}/session/end`);
    expect(Object.fromEntries(endSession.searchParams)).toEqual({
      client_id: 'backup-console',
      post_logout_redirect_uri: `${world.gateway.url}/console/`,
    });
    expect((await asConsole('/appliances', cookie)).status).toBe(401);
  });

  it('console pages: a strict CSP, hashed assets cached for good, compressed, and under 150 KB gzipped in all', async () => {
    const page = await fetch(`${world.gateway.url}/console/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
    );
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    expect(html).not.toMatch(/<script>|<style>|style="|https?:\/\//);
    const assets = [...html.matchAll(/"(\/console\/assets\/[^"]+)"/g)].map((match) => match[1]);
    expect(assets).toHaveLength(2);

    let gzipped = await gzippedSize(`${world.gateway.url}/console/`);
    for (const asset of assets) {
      const response = await fetch(`${world.gateway.url}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      gzipped += await gzippedSize(world.gateway.url + asset);
      const again = await fetch(`${world.gateway.url}${asset}`, {
        headers: { 'if-none-match': response.headers.get('etag') as string },
      });
      expect(again.status).toBe(304);
    }
    expect(gzipped).toBeGreaterThan(5_000);
    expect(gzipped).toBeLessThan(150 * 1024);
    process.stderr.write(`console: ${gzipped} bytes gzipped in all\n`);

    const missing = await fetch(`${world.gateway.url}/console/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
  });

  it('no token, session id, client secret or API key in any response body or log line', async () => {
    const trace = await loginOverHttp(world.gateway.url, 'alice', USERS.alice.password);
    const sessionId = trace.jar.get(world.gateway.url, 'bg-session') as string;
    const cookie = `bg-session=${sessionId}`;
    const bodies = [
      await (await asConsole('/console/session', cookie)).text(),
      await (await asConsole('/appliances', cookie)).text(),
      await (await asConsole('/audit/events', cookie)).text(),
      await (
        await fetch(`${world.gateway.url}/console/api-key-session`, {
          method: 'POST',
          headers: { ...CONSOLE_HEADER, origin: world.gateway.url, 'content-type': 'application/json' },
          body: JSON.stringify({ apiKey: 'wrong-key-0123456789' }),
        })
      ).text(),
    ];
    const logs = world.gateway.logs.join('\n');
    for (const text of [...bodies, logs]) {
      expect(text).not.toContain(sessionId);
      expect(text).not.toContain(LAB_API_KEY);
      expect(text).not.toContain('wrong-key-0123456789');
      expect(text).not.toContain('console-client-secret');
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/); // a JWT
    }
    expect(logs).toContain('console session opened');
  });

  // Last: it starts a second gateway in this process, and passport's strategies are process-wide, so from then on
  // the first gateway's session cookies would be looked up by the second's session strategy.
  it('tokens are refreshed server side, and a user the provider disables is signed out at the next refresh', async () => {
    // Access tokens living 31 s are within the gateway's 30 s refresh margin after one second.
    const short = await startConsoleWorld({ accessTokenTtl: 31 });
    try {
      const trace = await loginOverHttp(short.gateway.url, 'alice', USERS.alice.password);
      const cookie = `bg-session=${trace.jar.get(short.gateway.url, 'bg-session')}`;
      const call = (path: string) =>
        fetch(`${short.gateway.url}${path}`, { headers: { cookie, ...CONSOLE_HEADER, origin: short.gateway.url } });
      expect(short.provider.grants).toEqual(['authorization_code']);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect((await call('/appliances')).status).toBe(200);
      expect(short.provider.grants).toEqual(['authorization_code', 'refresh_token']);

      short.provider.disable('alice');
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect((await call('/appliances')).status).toBe(401);
      expect(await (await call('/console/session')).json()).toMatchObject({ signedIn: false });
      expect(short.gateway.logs.join('\n')).toContain('the identity provider no longer renews its tokens');
    } finally {
      await short.stop();
    }
  });
});

describe('console configuration', () => {
  let gateway: TestGateway | undefined;

  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  const base = {
    auth: { apiKeys: [{ id: 'lab', sha256: sha256Hex(LAB_API_KEY), scopes: ['backups:read'] }] },
    appliances: [],
  };

  it('served over https (console.publicUrl), the cookie is __Host- prefixed and Secure', async () => {
    gateway = await startGateway({
      ...base,
      console: { apiKeyLogin: true, publicUrl: 'https://console.example.test' },
    });
    const origin = 'https://console.example.test';
    const login = await fetch(`${gateway.url}/console/api-key-session`, {
      method: 'POST',
      headers: { ...CONSOLE_HEADER, origin, 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: LAB_API_KEY }),
    });
    const [setCookie] = login.headers.getSetCookie();
    expect(setCookie).toMatch(
      /^__Host-bg-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure; Max-Age=\d+$/,
    );
    const cookie = setCookie.split(';')[0];
    const headers = { cookie, ...CONSOLE_HEADER, origin };
    expect((await fetch(`${gateway.url}/appliances`, { headers })).status).toBe(200);
    // The unprefixed name (which a sibling host could plant) is not looked at.
    const planted = cookie.replace('__Host-bg-session', 'bg-session');
    expect((await fetch(`${gateway.url}/appliances`, { headers: { ...headers, cookie: planted } })).status).toBe(401);
  });

  it('over plain http outside loopback, the console refuses to open a session it could not keep', async () => {
    gateway = await startGateway({
      ...base,
      console: { apiKeyLogin: true, publicUrl: 'http://gateway.lab.example:3000' },
    });
    const login = await fetch(`${gateway.url}/console/api-key-session`, {
      method: 'POST',
      headers: { ...CONSOLE_HEADER, origin: 'http://gateway.lab.example:3000', 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: LAB_API_KEY }),
    });
    expect(login.status).toBe(400);
    expect(((await login.json()) as { detail: string }).detail).toContain('HTTPS');
    expect(login.headers.getSetCookie()).toEqual([]);
  });

  it('a Host that merely starts with 127. is no loopback: Secure, __Host- cookies, and no sign-in over plain http', async () => {
    gateway = await startGateway({ ...base, console: { apiKeyLogin: true } });
    const port = new URL(gateway.url).port;
    const as = (host: string) => ({ ...CONSOLE_HEADER, host: `${host}:${port}`, origin: `http://${host}:${port}` });
    const login = await post(`${gateway.url}/console/api-key-session`, as('127.evil.example'), { apiKey: LAB_API_KEY });
    expect(login.status).toBe(400);
    expect(login.setCookie).toEqual([]);
    const logout = await post(`${gateway.url}/console/logout`, as('127.evil.example'));
    expect(logout.setCookie).toEqual(['__Host-bg-session=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0']);
    // The developer's own machine keeps plain cookies, so the demo works over http.
    const local = await post(`${gateway.url}/console/api-key-session`, as('localhost'), { apiKey: LAB_API_KEY });
    expect(local.status).toBe(200);
    expect(local.setCookie).toEqual([
      expect.stringMatching(/^bg-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/),
    ]);
  });

  it('console.oidc needs console.publicUrl: the redirect URI never comes from a Host header', async () => {
    const problem = startGateway({
      ...base,
      auth: {
        ...base.auth,
        jwt: { issuer: 'https://idp.example.test', audience: 'gw', jwksUri: 'https://idp.example.test/jwks' },
      },
      console: { oidc: { issuer: 'https://idp.example.test', clientId: 'c', clientSecret: 's' } },
    });
    await expect(problem).rejects.toThrow(/console\.publicUrl: required with console\.oidc/);
  });

  it('API-key sign-in with sessions in Redis needs console.sessionSecret, of at least 32 characters', async () => {
    const withRedis = { ...base, redis: { url: 'redis://127.0.0.1:1' } };
    await expect(startGateway({ ...withRedis, console: { apiKeyLogin: true } })).rejects.toThrow(
      /console\.sessionSecret: required with redis\.url and console\.apiKeyLogin/,
    );
    await expect(
      startGateway({ ...withRedis, console: { apiKeyLogin: true, sessionSecret: 'too-short' } }),
    ).rejects.toThrow(/console\.sessionSecret: must be at least 32 characters/);
  });

  it('API-key sign-in is off unless console.apiKeyLogin; console.enabled: false removes the console', async () => {
    gateway = await startGateway(base);
    const refused = await fetch(`${gateway.url}/console/api-key-session`, {
      method: 'POST',
      headers: { ...CONSOLE_HEADER, origin: gateway.url, 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: LAB_API_KEY }),
    });
    expect(refused.status).toBe(404);
    expect((await fetch(`${gateway.url}/console/`)).status).toBe(200);
    await gateway.close();

    gateway = await startGateway({ ...base, console: { enabled: false } });
    expect((await fetch(`${gateway.url}/console/`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/console/session`)).status).toBe(404);
  });

  it('console.oidc needs auth.jwt to verify the access tokens it will be given', async () => {
    await expect(
      startGateway({
        ...base,
        console: { oidc: { issuer: 'https://idp.example.test', clientId: 'c', clientSecret: 's' } },
      }),
    ).rejects.toThrow(/console\.oidc: needs auth\.jwt/);
  });
});

/** A POST with a Host header of our choosing, which fetch does not send. */
async function post(
  url: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; setCookie: string[] }> {
  const { request } = await import('node:http');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    request(
      url,
      {
        method: 'POST',
        headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, setCookie: response.headers['set-cookie'] ?? [] }),
        );
      },
    )
      .on('error', reject)
      .end(payload);
  });
}

async function gzippedSize(url: string): Promise<number> {
  // fetch decompresses; node:http does not, so the bytes on the wire are counted there.
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    request(url, { headers: { 'accept-encoding': 'gzip' } }, (response) => {
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
      });
      response.on('end', () => resolve(size));
    })
      .on('error', reject)
      .end();
  });
}
