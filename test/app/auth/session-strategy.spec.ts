/**
 * The console's session cookie as an API credential, through passport and the gateway's guards: the session strategy
 * in front of the console's real session lookup (ConsoleSessions over its in-memory store, as one replica without
 * Redis keeps them), on a loopback port. What it proves: a live session is its caller; the CSRF defence (the
 * X-Console-Request header, the Origin) refuses before the store is read; a token or key beats any cookie.
 */
import { createHash } from 'node:crypto';
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

describe('console session as a credential (session strategy)', () => {
  let probe: ProbeApp;
  let store: CountingStore;
  let cookie: string;

  beforeAll(async () => {
    const config = Object.assign(new ConsoleConfig(), { publicUrl: `${CONSOLE}/` });
    store = new CountingStore();
    const sessions = new ConsoleSessions({
      config,
      store,
      origin: new ConsoleOrigin(config),
      logger: pino({ level: 'silent' }),
    });
    probe = await startProbeApp(
      {
        apiKeys: [
          { id: 'scheduler', sha256: createHash('sha256').update(KEY).digest('hex'), scopes: ['backups:read'] },
        ],
      },
      sessions,
    );
    const opened = await sessions.openFromApiKey(
      { headers: {}, method: 'POST', protocol: 'https' },
      { id: 'lab', name: 'Lab key', scopes: ['backups:run', 'backups:read'] },
    );
    cookie = opened.cookie.split(';')[0];
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
