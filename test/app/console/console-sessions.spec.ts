/**
 * Session lifetimes on a clock the test moves: idle timeout (renewed by use), absolute timeout (whatever the use),
 * what the store holds (a digest of the id, never the id), a logout that a request under way cannot undo, and
 * API-key sessions that follow their key's configuration.
 */
import { createHash } from 'node:crypto';
import pino from 'pino';
import type { SessionRequest } from '../../../src/auth/session-lookup.js';
import type { ApiKeyConfig } from '../../../src/config/gateway-config.js';
import { ConsoleConfig } from '../../../src/config/gateway-config.js';
import { ConsoleOrigin } from '../../../src/console/console-origin.js';
import { ConsoleSessions } from '../../../src/console/console-sessions.js';
import type { ConsoleStore } from '../../../src/console/console-store.js';
import { MemoryConsoleStore } from '../../../src/console/memory-console-store.js';

const MINUTE = 60_000;

/** The lab key as `auth.apiKeys` configures it (its SHA-256, never the key). */
const LAB_KEY: ApiKeyConfig = {
  id: 'lab',
  name: 'Lab key',
  sha256: createHash('sha256').update('lab-key-for-session-tests').digest('hex'),
  scopes: ['backups:read', 'backups:run'],
};

class RecordingStore extends MemoryConsoleStore {
  readonly written = new Map<string, string>();
  /** While set, each read waits for it after reading: a request that has read the session and not yet used it. */
  pauseAfterGet: Promise<void> | undefined;

  override async get(key: string): Promise<string | undefined> {
    const value = await super.get(key);
    if (this.pauseAfterGet) await this.pauseAfterGet;
    return value;
  }

  override async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.written.set(key, value);
    await super.set(key, value, ttlMs);
  }
}

function setup(overrides: Partial<ConsoleConfig> = {}, apiKeys: ApiKeyConfig[] = [LAB_KEY]) {
  let now = Date.UTC(2026, 10, 29, 8, 0, 0);
  const clock = () => now;
  const config = Object.assign(
    new ConsoleConfig(),
    { sessionIdleMinutes: 30, sessionAbsoluteHours: 8, apiKeyLogin: true },
    overrides,
  );
  const store = new RecordingStore(clock);
  /** The gateway's sessions over `store`, as started with this configuration (a restart, sessions kept in Redis). */
  const started = (console: Partial<ConsoleConfig>, keys: ApiKeyConfig[]) => {
    const restartedConfig = Object.assign(new ConsoleConfig(), config, console);
    return new ConsoleSessions({
      config: restartedConfig,
      store: store as ConsoleStore,
      apiKeys: keys,
      origin: new ConsoleOrigin(restartedConfig),
      logger: pino({ level: 'silent' }),
      now: clock,
    });
  };
  const sessions = started({}, apiKeys);
  const request = (cookie = '', consoleRequest = '1'): SessionRequest => ({
    headers: { host: 'localhost:3000', cookie, 'x-console-request': consoleRequest },
    method: 'GET',
    protocol: 'http',
  });
  return {
    sessions,
    started,
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
        sha256: LAB_KEY.sha256,
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
    const { cookie: next } = await sessions.openFromApiKey(request(cookie), {
      id: 'lab',
      name: 'Lab',
      scopes: [],
      sha256: LAB_KEY.sha256,
    });
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

  it('a request that read the session before a logout does not bring it back when it writes its last use', async () => {
    const { sessions, store, request, advance, open } = setup();
    const cookie = await open();
    // Long enough since the last use that this request writes the session back (lastSeenAt).
    advance(5 * MINUTE);
    let resume = () => {};
    store.pauseAfterGet = new Promise<void>((resolve) => {
      resume = resolve;
    });
    const inFlight = sessions.principal(request(cookie));
    await new Promise((resolve) => setImmediate(resolve));
    store.pauseAfterGet = undefined;
    const { record } = await sessions.end(request(cookie));
    expect(record).toMatchObject({ caller: 'apikey:lab' });
    resume();
    expect(await inFlight).toBeUndefined();
    expect(await sessions.principal(request(cookie))).toBeUndefined();
  });

  it('an API-key session follows its key as configured now: fewer scopes, never more; gone with the key', async () => {
    const { sessions, started, request } = setup();
    const { cookie: setCookie } = await sessions.openFromApiKey(request(), {
      id: 'lab',
      name: 'Lab key',
      scopes: ['backups:read', 'backups:run'],
      sha256: LAB_KEY.sha256,
    });
    const cookie = setCookie.split(';')[0];
    const scopesOf = async (current: ConsoleSessions) => {
      const principal = await current.principal(request(cookie));
      return principal && [...principal.scopes].sort();
    };
    expect(await scopesOf(sessions)).toEqual(['backups:read', 'backups:run']);

    // The key loses a scope and gains another: the session has only what it had and the key still has.
    const narrowed = started({}, [{ ...LAB_KEY, scopes: ['backups:read', 'audit:read'] }]);
    expect(await scopesOf(narrowed)).toEqual(['backups:read']);
    expect(await narrowed.view(request(cookie))).toMatchObject({ scopes: ['backups:read'] });
    // Another key's id, or API-key sign-in off, is no key for this session: it ends, for good.
    const other = LAB_KEY.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const replaced = started({}, [{ ...LAB_KEY, sha256: other }]);
    expect(await scopesOf(replaced)).toBeUndefined();
    expect(await scopesOf(sessions)).toBeUndefined();

    for (const [console, keys] of [
      [{}, [{ ...LAB_KEY, id: 'lab2' }]],
      [{ apiKeyLogin: false }, [LAB_KEY]],
    ] as const) {
      const { cookie: again } = await sessions.openFromApiKey(request(), {
        id: 'lab',
        name: 'Lab key',
        scopes: ['backups:read'],
        sha256: LAB_KEY.sha256,
      });
      const restarted = started(console, [...keys]);
      expect(await restarted.principal(request(again.split(';')[0]))).toBeUndefined();
      expect(await sessions.principal(request(again.split(';')[0]))).toBeUndefined();
    }
  });
});
