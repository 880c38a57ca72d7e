/**
 * The console's checks that must match exactly, each against the near miss that a prefix or a loosened check would
 * let through: the CSRF rule's Origin, the `__Host-` prefix of the login cookie, and the OpenID `state`.
 */

import { type ConsoleWorld, LAB_API_KEY, startConsoleWorld, USERS } from '../../support/console/console-world.js';
import { CookieJar, loginOverHttp } from '../../support/console/http-login.js';
import { startGateway, type TestGateway } from '../../support/gateway.js';
import { sha256Hex } from '../../support/identity-provider.js';

const CONSOLE_HEADER = { 'x-console-request': '1' };
const CONSOLE_ORIGIN = 'https://console.example.test';

describe('console CSRF rule: the Origin is the console origin exactly', () => {
  let gateway: TestGateway;
  let cookie: string;

  beforeAll(async () => {
    gateway = await startGateway({
      auth: { apiKeys: [{ id: 'lab', sha256: sha256Hex(LAB_API_KEY), scopes: ['backups:read'] }] },
      appliances: [],
      console: { apiKeyLogin: true, publicUrl: CONSOLE_ORIGIN },
    });
    const login = await apiKeySession(CONSOLE_ORIGIN);
    expect(login.status).toBe(200);
    cookie = login.headers.getSetCookie()[0].split(';')[0];
  });
  afterAll(() => gateway?.close());

  function apiKeySession(origin: string): Promise<Response> {
    return fetch(`${gateway.url}/console/api-key-session`, {
      method: 'POST',
      headers: { ...CONSOLE_HEADER, origin, 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: LAB_API_KEY }),
    });
  }

  /** The session's API and console routes, as a page at `origin` would call them with the browser's cookie. */
  function calls(origin: string): Promise<Response>[] {
    const headers = { cookie, ...CONSOLE_HEADER, origin };
    return [
      fetch(`${gateway.url}/appliances`, { headers }),
      fetch(`${gateway.url}/console/session`, { headers }),
      apiKeySession(origin),
    ];
  }

  it.each([
    // Its own host name continued: a domain the attacker registers.
    `${CONSOLE_ORIGIN}.evil.example`,
    `${CONSOLE_ORIGIN}evil.example`,
    // Another port of the same host is another origin.
    `${CONSOLE_ORIGIN}:8443`,
    // The console origin continued by a path or userinfo is no origin a browser sends, but must not pass either.
    `${CONSOLE_ORIGIN}/`,
    `${CONSOLE_ORIGIN}@evil.example`,
    // And the other way round: a prefix of the console origin.
    'https://console.example.tes',
  ])('a page at %s gets 403 on the API and on the console routes, and cannot log out', async (origin) => {
    for (const response of await Promise.all(calls(origin))) {
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringContaining('origin') });
      expect(response.headers.getSetCookie()).toEqual([]);
    }
    const logout = await fetch(`${gateway.url}/console/logout`, {
      method: 'POST',
      headers: { cookie, ...CONSOLE_HEADER, origin },
    });
    expect(logout.status).toBe(403);
    // The session is untouched: the console itself still uses it.
    expect(
      (await fetch(`${gateway.url}/appliances`, { headers: { cookie, ...CONSOLE_HEADER, origin: CONSOLE_ORIGIN } }))
        .status,
    ).toBe(200);
  });

  it('the console origin itself passes on the same routes (the refusals above were the origin)', async () => {
    for (const response of await Promise.all(calls(CONSOLE_ORIGIN))) expect(response.status).toBe(200);
  });
});

describe('console login over https (console.publicUrl)', () => {
  let world: ConsoleWorld;

  beforeAll(async () => {
    world = await startConsoleWorld({ console: { publicUrl: CONSOLE_ORIGIN } });
  });
  afterAll(() => world?.stop());

  const startLogin = () => fetch(`${world.gateway.url}/console/login`, { redirect: 'manual' });

  it('the login cookie is __Host- prefixed and Secure, so no sibling host can plant or read it', async () => {
    const start = await startLogin();
    expect(start.status).toBe(303);
    expect(new URL(start.headers.get('location') as string).searchParams.get('redirect_uri')).toBe(
      `${CONSOLE_ORIGIN}/console/callback`,
    );
    const [setCookie] = start.headers.getSetCookie();
    expect(setCookie).toMatch(
      /^__Host-bg-login-[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=300$/,
    );
  });

  it('the callback reads the login transaction from the __Host- cookie only, and clears that one', async () => {
    const start = await startLogin();
    const [name, transaction] = start.headers.getSetCookie()[0].split(';')[0].split('=');
    const state = new URL(start.headers.get('location') as string).searchParams.get('state');
    const callback = (cookie: string) =>
      fetch(`${world.gateway.url}/console/callback?code=x&state=${state}&iss=${world.provider.issuer}`, {
        redirect: 'manual',
        headers: { cookie },
      });
    // The unprefixed name, which a sibling host could plant, is not looked at: no transaction.
    const planted = await callback(`${name.replace('__Host-', '')}=${transaction}`);
    expect(planted.headers.get('location')).toBe('/console/#/signed-out?reason=login-expired');
    // Under its own name the transaction is found (and then fails: the code is made up).
    const own = await callback(`${name}=${transaction}`);
    expect(own.headers.get('location')).toBe('/console/#/signed-out?reason=login-failed');
    expect(own.headers.getSetCookie()).toEqual([`${name}=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0`]);
  });
});

describe('console login: the OpenID state must be the one the login started with', () => {
  let world: ConsoleWorld;

  beforeAll(async () => {
    world = await startConsoleWorld();
  });
  afterAll(() => world?.stop());

  /**
   * A browser's login up to the provider's redirect back, not followed: the genuine callback URL (a code the provider
   * really issued for this login, its state, its issuer) and the browser's cookies.
   */
  async function untilCallback(user: string): Promise<{ jar: CookieJar; callback: URL }> {
    const trace = await loginOverHttp(world.gateway.url, user, USERS[user].password, new CookieJar(), {
      stopAtCallback: true,
    });
    if (!trace.callbackUrl) throw new Error('login did not reach the callback');
    return { jar: trace.jar, callback: new URL(trace.callbackUrl) };
  }

  const deliver = (jar: CookieJar, callback: URL) =>
    fetch(callback, { redirect: 'manual', headers: { cookie: jar.header(callback.href) } });

  it.each([
    ['another state', (state: string) => `${state.slice(0, -4)}AAAA`],
    ['no state at all', () => undefined],
  ])('a genuine code with %s is refused before the code is exchanged, and opens no session', async (_name, forge) => {
    const { jar, callback } = await untilCallback('alice');
    const genuineState = callback.searchParams.get('state') as string;
    expect(genuineState).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(callback.searchParams.get('code')).toBeTruthy();
    const forged = new URL(callback);
    const state = forge(genuineState);
    if (state === undefined) forged.searchParams.delete('state');
    else forged.searchParams.set('state', state);
    const grants = world.provider.grants.length;

    // The state names the sign-in's login cookie: another state (or none) names none of this browser's.
    const response = await deliver(jar, forged);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/console/#/signed-out?reason=login-expired');
    expect(response.headers.getSetCookie().some((line) => line.startsWith('bg-session='))).toBe(false);
    expect(world.provider.grants.length).toBe(grants);
    // The forged answer did not touch the browser's own sign-in: the genuine answer, arriving after it, completes it.
    const late = await deliver(jar, callback);
    expect(late.headers.get('location')).toBe('/console/');
  });

  it('the same login with its state untouched opens a session', async () => {
    const { jar, callback } = await untilCallback('alice');
    const response = await deliver(jar, callback);
    expect(response.headers.get('location')).toBe('/console/');
    expect(response.headers.getSetCookie().some((line) => /^bg-session=[A-Za-z0-9_-]{43};/.test(line))).toBe(true);
  });
});
