import { LOGIN_BACKOFF_MAX_MS, LOGIN_BACKOFF_MIN_MS, VapiSession } from '../../../src/appliances/vapi-session.js';
import { GatewayError } from '../../../src/problems/gateway-error.js';

/** The session's rules, without an appliance: single-flight logins, and logins held back after a rejection. */
describe('VapiSession', () => {
  let now = 0;
  let logins = 0;
  let answer: () => Promise<string>;
  const backoffs: number[] = [];
  const session = () =>
    new VapiSession({
      login: () => {
        logins++;
        return answer();
      },
      heldBack: (seconds) => new GatewayError('APPLIANCE_AUTH_FAILED', `held back ${seconds}`, { retryAfter: seconds }),
      onBackoff: (ms) => backoffs.push(ms),
      now: () => now,
    });
  const rejected = () => Promise.reject(new GatewayError('APPLIANCE_AUTH_FAILED', 'rejected'));

  beforeEach(() => {
    now = 1_000_000;
    logins = 0;
    backoffs.length = 0;
    answer = () => Promise.resolve(`token-${logins}`);
  });

  it('logs in once however many callers ask at once, and reuses the token', async () => {
    const s = session();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => s.current()));
    expect(new Set(tokens)).toEqual(new Set(['token-1']));
    expect(await s.current()).toBe('token-1');
    expect(logins).toBe(1);
  });

  it('invalidating the refused token logs in again once; a stale token does not drop a fresh one', async () => {
    const s = session();
    const first = await s.current();
    s.invalidate(first);
    const [a, b] = await Promise.all([s.current(), s.current()]);
    expect([a, b]).toEqual(['token-2', 'token-2']);
    s.invalidate(first); // a late refusal of the old token
    expect(await s.current()).toBe('token-2');
    expect(logins).toBe(2);
  });

  it('after a rejected login: no login for 60 s, then one, doubling to 15 min, reset by a success', async () => {
    const s = session();
    answer = rejected;
    await expect(s.current()).rejects.toMatchObject({ details: { retryAfter: 60 } });
    expect(logins).toBe(1);
    now += LOGIN_BACKOFF_MIN_MS - 1000;
    await expect(s.current()).rejects.toMatchObject({ details: { retryAfter: 1 } });
    expect(logins).toBe(1);
    const expected = [60_000, 120_000, 240_000, 480_000, 900_000, 900_000];
    for (let i = 1; i < expected.length; i++) {
      now += expected[i - 1];
      await expect(s.current()).rejects.toMatchObject({ details: { retryAfter: expected[i] / 1000 } });
      expect(logins).toBe(i + 1);
    }
    expect(backoffs).toEqual(expected);
    expect(Math.max(...backoffs)).toBe(LOGIN_BACKOFF_MAX_MS);
    now += LOGIN_BACKOFF_MAX_MS;
    answer = () => Promise.resolve('token-ok');
    expect(await s.current()).toBe('token-ok');
    s.invalidate('token-ok');
    answer = rejected;
    await expect(s.current()).rejects.toMatchObject({ details: { retryAfter: 60 } }); // reset to the minimum
  });

  it('concurrent callers during a rejected login share it: one attempt, one log line', async () => {
    const s = session();
    answer = rejected;
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => s.current()));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(logins).toBe(1);
    expect(backoffs).toHaveLength(1);
  });

  it('other login failures (appliance down) are not held back', async () => {
    const s = session();
    answer = () => Promise.reject(new GatewayError('APPLIANCE_UNAVAILABLE', 'down'));
    await expect(s.current()).rejects.toMatchObject({ code: 'APPLIANCE_UNAVAILABLE' });
    await expect(s.current()).rejects.toMatchObject({ code: 'APPLIANCE_UNAVAILABLE' });
    expect(logins).toBe(2);
    expect(backoffs).toEqual([]);
  });

  /** A login that answers only when told to: callers can arrive while it is under way. */
  function pendingLogin(): { settle: (outcome: 'ok' | 'rejected' | 'down') => void } {
    let settle: (outcome: 'ok' | 'rejected' | 'down') => void = () => undefined;
    answer = () =>
      new Promise<string>((resolve, reject) => {
        settle = (outcome) => {
          if (outcome === 'ok') resolve(`token-${logins}`);
          else if (outcome === 'rejected') reject(new GatewayError('APPLIANCE_AUTH_FAILED', 'rejected'));
          else reject(new GatewayError('APPLIANCE_UNAVAILABLE', 'down'));
        };
      });
    return { settle: (outcome) => settle(outcome) };
  }
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('callers arriving while the login is under way, turns later, join it instead of starting another', async () => {
    const s = session();
    const login = pendingLogin();
    const early = s.current();
    await turn();
    const late = [s.current(), s.current()];
    await turn();
    expect(logins).toBe(1);
    login.settle('ok');
    expect(await Promise.all([early, ...late])).toEqual(['token-1', 'token-1', 'token-1']);
    expect(logins).toBe(1);
  });

  it('a refused token invalidated while a new login is under way starts no second login', async () => {
    const s = session();
    const first = await s.current();
    s.invalidate(first);
    const login = pendingLogin();
    const waiting = s.current();
    s.invalidate(first); // another request refused with the same old token
    const alsoWaiting = s.current();
    login.settle('ok');
    expect(await Promise.all([waiting, alsoWaiting])).toEqual(['token-2', 'token-2']);
    expect(logins).toBe(2);
  });

  it('a failed login is shared by those waiting on it, and the next caller after it tries again', async () => {
    const s = session();
    const login = pendingLogin();
    const waiting = [s.current(), s.current()].map((p) => p.catch((error: unknown) => error));
    login.settle('down');
    const [a, b] = await Promise.all(waiting);
    expect(a).toBe(b);
    expect(a).toMatchObject({ code: 'APPLIANCE_UNAVAILABLE' });
    answer = () => Promise.resolve('token-after');
    expect(await s.current()).toBe('token-after');
    expect(logins).toBe(2);
  });

  it('while held back, callers are refused at once with the seconds left, rounded up, and no login is tried', async () => {
    const s = session();
    answer = rejected;
    await expect(s.current()).rejects.toMatchObject({ details: { retryAfter: 60 } });
    now += 30_500;
    const refusals = await Promise.allSettled(Array.from({ length: 5 }, () => s.current()));
    expect(refusals.map((r) => (r as PromiseRejectedResult).reason.details.retryAfter)).toEqual([30, 30, 30, 30, 30]);
    now += 29_500;
    answer = () => Promise.resolve('token-ok');
    expect(await s.current()).toBe('token-ok');
    expect(logins).toBe(2);
  });

  it('the caller of a rejected login gets the appliance’s own refusal with the held-back error', async () => {
    const upstream = new GatewayError('APPLIANCE_AUTH_FAILED', 'bad password', {
      upstream: { status: 401, errorType: 'UNAUTHENTICATED', messages: [] },
    });
    const seen: (GatewayError | undefined)[] = [];
    const s = new VapiSession({
      login: () => Promise.reject(upstream),
      heldBack: (seconds, rejection) => {
        seen.push(rejection);
        return new GatewayError('APPLIANCE_AUTH_FAILED', `held back ${seconds}`);
      },
      now: () => now,
    });
    await expect(s.current()).rejects.toMatchObject({ detail: 'held back 60' });
    await expect(s.current()).rejects.toMatchObject({ detail: 'held back 60' });
    expect(seen).toEqual([upstream, undefined]);
  });

  it('take() hands the token over once', async () => {
    const s = session();
    await s.current();
    expect(s.take()).toBe('token-1');
    expect(s.take()).toBeUndefined();
  });
});
