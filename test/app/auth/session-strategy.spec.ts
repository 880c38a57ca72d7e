/**
 * The console's session cookie as an API credential, through passport and the gateway's guards: the session strategy
 * in front of the console's real session lookup (ConsoleSessions over its in-memory store, as one replica without
 * Redis keeps them), on a loopback port. What it proves: a live session is its caller; the CSRF defence (the
 * X-Console-Request header, the Origin) refuses before the store is read; a token or key beats any cookie.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import pino from 'pino';
import { assertFromConsole } from '../../../src/auth/session.strategy.js';
import type { SessionRequest } from '../../../src/auth/session-lookup.js';
import { ConsoleConfig } from '../../../src/config/gateway-config.js';
import { ConsoleOrigin } from '../../../src/console/console-origin.js';
import { ConsoleSessions } from '../../../src/console/console-sessions.js';
import { MemoryConsoleStore } from '../../../src/console/memory-console-store.js';
import { GatewayError } from '../../../src/problems/gateway-error.js';
import { type ProbeApp, startProbeApp } from '../../support/probe-app.js';

const CONSOLE = 'https://console.example';
const KEY = 'gw-session-test-key';
const LAB_KEY = {
  id: 'lab',
  sha256: createHash('sha256').update('gw-session-lab-key').digest('hex'),
  scopes: ['backups:run', 'backups:read'],
};

/** The console's store, counting its reads and writes: a refused request must touch neither. */
class CountingStore extends MemoryConsoleStore {
  touched = 0;

  override async get(key: string): Promise<string | undefined> {
    this.touched += 1;
    return super.get(key);
  }

  override async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.touched += 1;
    await super.set(key, value, ttlMs);
  }
}

/** A probe app whose console sessions live in `store`, and the cookie of one session opened with an API key. */
async function probeWithSession(
  store: MemoryConsoleStore,
  auth: Record<string, unknown> = {},
): Promise<{ probe: ProbeApp; cookie: string }> {
  const config = Object.assign(new ConsoleConfig(), { publicUrl: `${CONSOLE}/`, apiKeyLogin: true });
  // The key the session is opened with is configured, as it must be for its session to last (ConsoleSessions looks
  // it up on every use).
  const sessions = new ConsoleSessions({
    config,
    apiKeys: [LAB_KEY],
    store,
    origin: new ConsoleOrigin(config),
    logger: pino({ level: 'silent' }),
  });
  const probe = await startProbeApp(
    {
      apiKeys: [{ id: 'scheduler', sha256: createHash('sha256').update(KEY).digest('hex'), scopes: ['backups:read'] }],
      ...auth,
    },
    sessions,
  );
  const opened = await sessions.openFromApiKey(
    { headers: {}, method: 'POST', protocol: 'https' },
    { id: 'lab', name: 'Lab key', scopes: ['backups:run', 'backups:read'], sha256: LAB_KEY.sha256 },
  );
  return { probe, cookie: opened.cookie.split(';')[0] };
}

describe('console session as a credential (session strategy)', () => {
  let probe: ProbeApp;
  let store: CountingStore;
  let cookie: string;

  beforeAll(async () => {
    store = new CountingStore();
    ({ probe, cookie } = await probeWithSession(store));
  });
  afterAll(() => probe.close());

  const fromConsole = (extra: Record<string, string> = {}) => ({ cookie, 'x-console-request': '1', ...extra });

  it('a live session authenticates as its caller, with exactly its scopes, on a safe method without Origin', async () => {
    const response = await probe.request({ url: '/whoami', headers: fromConsole() });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      caller: 'apikey:lab',
      name: 'Lab key',
      clientId: 'lab',
      authMethod: 'session',
      scopes: ['backups:read', 'backups:run'],
    });
  });

  it("an unsafe method from the console's own origin is accepted, and reaches the route with the session's scopes", async () => {
    const response = await probe.request({
      method: 'POST',
      url: '/appliances/vc-a/run',
      headers: fromConsole({ origin: CONSOLE }),
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ caller: 'apikey:lab', authMethod: 'session' });
  });

  it('without the X-Console-Request header: 403 that names the header, and the store is not read', async () => {
    const before = store.touched;
    const response = await probe.request({ url: '/whoami', headers: { cookie, origin: CONSOLE } });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({
      status: 403,
      detail: 'A console session is accepted only from the console: this request lacks its X-Console-Request header.',
    });
    expect(store.touched).toBe(before);
  });

  it('from another origin: 403 that names the console origin (not the other one), and the store is not read', async () => {
    const before = store.touched;
    const response = await probe.request({
      url: '/whoami',
      headers: fromConsole({ origin: 'https://evil.example' }),
    });
    expect(response.statusCode).toBe(403);
    expect(response.json().detail).toBe(
      "A console session is accepted only from the console's own origin (https://console.example); this request came from another origin.",
    );
    expect(store.touched).toBe(before);
  });

  it('an unsafe method without Origin: 403 (an unstated origin), even with the header', async () => {
    const before = store.touched;
    const response = await probe.request({ method: 'POST', url: '/appliances/vc-a/run', headers: fromConsole() });
    expect(response.statusCode).toBe(403);
    expect(response.json().detail).toBe(
      "A console session is accepted only from the console's own origin (https://console.example); this request came from an unstated origin.",
    );
    expect(store.touched).toBe(before);
  });

  it('a cookie that names no session, or no cookie at all: 401, the usual answer for no credential', async () => {
    const cases: Record<string, string>[] = [
      { cookie: `${cookie.split('=')[0]}=${'A'.repeat(43)}`, 'x-console-request': '1' },
      { 'x-console-request': '1', origin: CONSOLE },
    ];
    for (const headers of cases) {
      const response = await probe.request({ url: '/whoami', headers });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ status: 401 });
    }
  });

  it('no session cookie: the CSRF checks do not apply (the request is simply unauthenticated), and nothing is read', async () => {
    const before = store.touched;
    const response = await probe.request({ url: '/whoami', headers: { origin: 'https://evil.example' } });
    expect(response.statusCode).toBe(401);
    expect(store.touched).toBe(before);
  });

  it('an API key beats the cookie: the caller is the key, whatever the cookie and its origin', async () => {
    const response = await probe.request({
      url: '/whoami',
      headers: { 'x-api-key': KEY, cookie, origin: 'https://evil.example' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ caller: 'apikey:scheduler', authMethod: 'apiKey' });
  });
});

/**
 * The limit on failed authentications (auth.failedAttemptsPerMinute) as the authentication guard applies it: a bearer
 * token or an API key that is refused counts against the address, whatever cookie comes with it; no credential, and a
 * refusal that is not about the credential, do not; past the limit every credential from that address is refused before it is looked at.
 */
describe('failed authentications from one address', () => {
  let probe: ProbeApp;
  let cookie: string;

  beforeEach(async () => {
    ({ probe, cookie } = await probeWithSession(new MemoryConsoleStore(), { failedAttemptsPerMinute: 3 }));
  });
  afterEach(() => probe.close());

  const status = async (headers: Record<string, string>) =>
    (await probe.request({ url: '/whoami', headers })).statusCode;

  it('past the limit, wrong API keys are answered 429 with Retry-After, and so is the right one', async () => {
    for (let i = 0; i < 3; i++) expect(await status({ 'x-api-key': 'wrong' })).toBe(401);
    const refused = await probe.request({ url: '/whoami', headers: { 'x-api-key': KEY } });
    expect(refused.statusCode).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.json()).toMatchObject({
      code: 'RATE_LIMITED',
      detail: `Too many failed authentications from your address; retry after ${retryAfter} s.`,
    });
  });

  it('refused bearer tokens count as refused keys do', async () => {
    for (let i = 0; i < 3; i++) expect(await status({ authorization: 'Bearer not-a-token' })).toBe(401);
    expect(await status({ authorization: 'Bearer not-a-token' })).toBe(429);
  });

  it('a request without a credential is never counted, nor refused for the failures of the address', async () => {
    for (let i = 0; i < 5; i++) expect(await status({})).toBe(401);
    expect(await status({ 'x-api-key': KEY })).toBe(200);
    for (let i = 0; i < 3; i++) expect(await status({ 'x-api-key': 'wrong' })).toBe(401);
    expect(await status({})).toBe(401);
  });

  it('a refusal that is not about the credential (a console session from another site) is no failed guess', async () => {
    const crossSite = { cookie, 'x-console-request': '1', origin: 'https://evil.example' };
    for (let i = 0; i < 5; i++) expect(await status(crossSite)).toBe(403);
    expect(await status({ 'x-api-key': KEY })).toBe(200);
  });

  it('a cookie beside wrong API keys or tokens changes nothing: each is a counted 401, then 429, right key included', async () => {
    // Any cookie value of the session cookie's shape, sent with the console's header from a foreign origin: before,
    // the session strategy answered 403 for it, so wrong keys were never counted and a right one answered 200.
    const junk = `${cookie.split('=')[0]}=${'A'.repeat(43)}`;
    const beside = { cookie: junk, 'x-console-request': '1', origin: 'https://evil.example' };
    expect(await status({ ...beside, 'x-api-key': 'guess-1' })).toBe(401);
    expect(await status({ ...beside, authorization: 'Bearer guess-2' })).toBe(401);
    expect(await status({ ...beside, cookie, 'x-api-key': 'guess-3' })).toBe(401);
    expect(await status({ ...beside, 'x-api-key': KEY })).toBe(429);
  });

  it('a wrong token beside a live session from the console is refused (401): the session does not stand in for it', async () => {
    const fromConsole = { cookie, 'x-console-request': '1', origin: CONSOLE };
    expect(await status(fromConsole)).toBe(200);
    expect(await status({ ...fromConsole, authorization: 'Bearer not-a-token' })).toBe(401);
  });
});

describe('assertFromConsole (the CSRF rule the console routes share)', () => {
  const request = (method: string, headers: SessionRequest['headers']): SessionRequest => ({ method, headers });
  const refusal = (method: string, headers: SessionRequest['headers']) => {
    try {
      assertFromConsole(request(method, headers), CONSOLE);
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).code).toBe('FORBIDDEN');
      return (error as GatewayError).message;
    }
  };

  it.each(['GET', 'HEAD', 'OPTIONS', 'get', 'head', 'options'])(
    'a safe method (%s) may come without Origin',
    (method) => {
      expect(refusal(method, { 'x-console-request': '1' })).toBeUndefined();
    },
  );

  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'post', 'delete'])(
    'an unsafe method (%s) must state its origin',
    (method) => {
      expect(refusal(method, { 'x-console-request': '1' })).toMatch(/an unstated origin\.$/);
      expect(refusal(method, { 'x-console-request': '1', origin: CONSOLE })).toBeUndefined();
    },
  );

  it('any method from another origin, or without the header, is refused', () => {
    expect(refusal('GET', { 'x-console-request': '1', origin: 'https://console.example.evil' })).toMatch(
      /another origin\.$/,
    );
    expect(refusal('GET', { origin: CONSOLE })).toMatch(/X-Console-Request header\.$/);
    // The header's value does not matter, only that a cross-site form could not have sent it.
    expect(refusal('GET', { 'x-console-request': '' })).toBeUndefined();
  });
});

describe('the console origin taken from the Host header (no console.publicUrl)', () => {
  let probe: ProbeApp;
  let cookie: string;

  beforeAll(async () => {
    const config = Object.assign(new ConsoleConfig(), { apiKeyLogin: true });
    const sessions = new ConsoleSessions({
      config,
      apiKeys: [LAB_KEY],
      store: new MemoryConsoleStore(),
      origin: new ConsoleOrigin(config),
      logger: pino({ level: 'silent' }),
    });
    probe = await startProbeApp(
      { apiKeys: [{ id: 'scheduler', sha256: createHash('sha256').update(KEY).digest('hex'), scopes: [] }] },
      sessions,
    );
    const opened = await sessions.openFromApiKey(
      { headers: {}, method: 'POST', protocol: 'http' },
      { id: 'lab', name: 'Lab key', scopes: ['backups:read'], sha256: LAB_KEY.sha256 },
    );
    cookie = opened.cookie.split(';')[0];
  });
  afterAll(() => probe.close());

  /** A request as sent on the wire: fetch would refuse such Host headers, Node's server takes them. */
  function raw(host: string): Promise<{ status: number; body: string }> {
    const { port } = probe.app.getHttpServer().address() as AddressInfo;
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(
          `GET /whoami HTTP/1.1\r\nHost: ${host}\r\nCookie: ${cookie}\r\nX-Console-Request: 1\r\nConnection: close\r\n\r\n`,
        ),
      );
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk;
      });
      socket.on('error', reject);
      socket.on('end', () =>
        resolve({ status: Number(text.split(' ')[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) }),
      );
    });
  }

  it('a Host that names a host is the origin: the session authenticates', async () => {
    expect((await raw(`127.0.0.1:${(probe.app.getHttpServer().address() as AddressInfo).port}`)).status).toBe(200);
  });

  it.each(['a b', '[::1', '%zz'])(
    'a Host header that names no host (%s) is a 400 problem wherever the console origin is needed',
    async (host) => {
      const answer = await raw(host);
      expect(answer.status).toBe(400);
      expect(answer.body).toContain('"code":"VALIDATION_FAILED"');
      expect(answer.body).toContain('The Host header of this request does not name a host.');
    },
  );
});
