/**
 * Session lifetimes on a clock the test moves: idle timeout (renewed by use), absolute timeout (whatever the use),
 * and what the store holds (a digest of the id, never the id).
 */
import pino from 'pino';
import type { SessionRequest } from '../../../src/auth/session-lookup.js';
import { ConsoleConfig } from '../../../src/config/gateway-config.js';
import { ConsoleOrigin } from '../../../src/console/console-origin.js';
import { ConsoleSessions } from '../../../src/console/console-sessions.js';
import type { ConsoleStore } from '../../../src/console/console-store.js';
import { MemoryConsoleStore } from '../../../src/console/memory-console-store.js';

const MINUTE = 60_000;

class RecordingStore extends MemoryConsoleStore {
  readonly written = new Map<string, string>();

  override async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.written.set(key, value);
    await super.set(key, value, ttlMs);
  }
}

function setup(overrides: Partial<ConsoleConfig> = {}) {
  let now = Date.UTC(2026, 10, 29, 8, 0, 0);
  const clock = () => now;
  const config = Object.assign(new ConsoleConfig(), { sessionIdleMinutes: 30, sessionAbsoluteHours: 8 }, overrides);
  const store = new RecordingStore(clock);
  const sessions = new ConsoleSessions({
    config,
    store: store as ConsoleStore,
    origin: new ConsoleOrigin(config),
    logger: pino({ level: 'silent' }),
    now: clock,
  });
  const request = (cookie = '', consoleRequest = '1'): SessionRequest => ({
    headers: { host: 'localhost:3000', cookie, 'x-console-request': consoleRequest },
    method: 'GET',
    protocol: 'http',
  });
  return {
    sessions,
    store,
    request,
    advance: (ms: number) => {
      now += ms;
    },
    async open() {
      const { cookie } = await sessions.openFromApiKey(request(), {
        id: 'lab',
        name: 'Lab key',
        scopes: ['backups:read'],
      });
      return cookie.split(';')[0];
    },
  };
}

describe('console session lifetimes', () => {
  it('an idle session ends after sessionIdleMinutes; each use starts the idle time again', async () => {
    const { sessions, request, advance, open } = setup();
    const cookie = await open();
    advance(29 * MINUTE);
    expect(await sessions.principal(request(cookie))).toMatchObject({ caller: 'apikey:lab', authMethod: 'session' });
    advance(29 * MINUTE);
    expect(await sessions.principal(request(cookie))).toBeDefined();
    advance(30 * MINUTE);
    expect(await sessions.principal(request(cookie))).toBeUndefined();
    // Gone for good, not merely refused once.
    advance(-29 * MINUTE);
    expect(await sessions.principal(request(cookie))).toBeUndefined();
  });

  it("the console's background reads use the session but never extend it; the user's next action does", async () => {
    const { sessions, request, advance, open } = setup();
    const cookie = await open();
    // A page left open refreshes every 15 s: 29 minutes of it, and the session has still been idle for 29 minutes.
    for (let elapsed = 0; elapsed < 29 * MINUTE; elapsed += MINUTE / 4) {
      advance(MINUTE / 4);
      expect(await sessions.principal(request(cookie, 'background'))).toBeDefined();
    }
    advance(MINUTE);
    expect(await sessions.principal(request(cookie, 'background'))).toBeUndefined();

    // The same, with one click of the user's in between: that click starts the idle time again.
    const other = await open();
    advance(29 * MINUTE);
    expect(await sessions.principal(request(other))).toBeDefined();
    advance(29 * MINUTE);
    expect(await sessions.principal(request(other, 'background'))).toBeDefined();
    advance(2 * MINUTE);
    expect(await sessions.principal(request(other, 'background'))).toBeUndefined();
  });

  it('a session ends after sessionAbsoluteHours however busy it is', async () => {
    const { sessions, request, advance, open } = setup({ sessionAbsoluteHours: 1 });
    const cookie = await open();
    for (let minute = 20; minute < 60; minute += 20) {
      advance(20 * MINUTE);
      expect(await sessions.principal(request(cookie))).toBeDefined();
    }
    advance(20 * MINUTE);
    expect(await sessions.principal(request(cookie))).toBeUndefined();
  });

  it('the store holds the session under a digest of its id; a login replaces the session the browser had', async () => {
    const { sessions, store, request, open } = setup();
    const cookie = await open();
    const id = cookie.split('=')[1];
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const [key, value] of store.written) {
      expect(key).not.toContain(id);
      expect(value).not.toContain(id);
    }
    const { cookie: next } = await sessions.openFromApiKey(request(cookie), { id: 'lab', name: 'Lab', scopes: [] });
    expect(next.split(';')[0]).not.toBe(cookie);
    expect(await sessions.principal(request(cookie))).toBeUndefined();
    expect(await sessions.principal(request(next.split(';')[0]))).toBeDefined();
  });

  it('a cookie that is not one of ours is no session (and costs no store lookup)', async () => {
    const { sessions, request } = setup();
    expect(sessions.presented(request('bg-session=short'))).toBe(false);
    expect(sessions.presented(request(`bg-session=${'x'.repeat(43)};other=1`))).toBe(true);
    expect(await sessions.principal(request(`bg-session=${'x'.repeat(43)}`))).toBeUndefined();
    expect(sessions.presented(request(`__Host-bg-session=${'x'.repeat(43)}`))).toBe(false);
  });
});
