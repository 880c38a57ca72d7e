import { jest } from '@jest/globals';
import type { CallerId } from '../../../src/auth/caller-id.js';
import type { Principal } from '../../../src/auth/principal.js';
import type { VerifiedTokenCache as Cache, RememberedToken } from '../../../src/auth/verified-token-cache.js';

const NOW_S = Date.parse('2026-03-10T08:00:00.000Z') / 1000;
const alice: Principal = { caller: 'jwt:i:alice' as CallerId, authMethod: 'jwt', scopes: new Set(['backups:read']) };
/** What a verification of a token expiring at `expSeconds` found. */
const verified = (expSeconds: number, principal = alice): RememberedToken => ({
  principal,
  expiresAt: expSeconds * 1000,
  generation: 0,
});

/** The cache's clock is lru-cache's: faked before the module loads it, so that expiry can be walked through. */
describe('VerifiedTokenCache', () => {
  let VerifiedTokenCache: typeof Cache;

  beforeAll(async () => {
    jest.useFakeTimers({ now: NOW_S * 1000 });
    ({ VerifiedTokenCache } = await import('../../../src/auth/verified-token-cache.js'));
    // The fake performance.now() starts at 0, which lru-cache reads as "no start time": never stale.
    jest.advanceTimersByTime(1000);
  });
  afterAll(() => jest.useRealTimers());

  /** Whether `token` is still remembered after `seconds` more (the clock moves on for good). */
  function rememberedAfter(cache: Cache, seconds: number, token: string): Principal | undefined {
    jest.advanceTimersByTime(seconds * 1000);
    return cache.get(token)?.principal;
  }

  it('remembers a token until it expires, with the clock tolerance the verifier allows', () => {
    const cache = new VerifiedTokenCache(10, 30);
    cache.remember('token-a', verified(Date.now() / 1000 + 60, alice));
    expect(cache.get('token-a')?.principal).toBe(alice);
    expect(rememberedAfter(cache, 89, 'token-a')).toBe(alice);
    expect(rememberedAfter(cache, 2, 'token-a')).toBeUndefined();
  });

  it('never longer than five minutes, however far away exp is', () => {
    const cache = new VerifiedTokenCache(10, 30);
    cache.remember('token-b', verified(Date.now() / 1000 + 3600, alice));
    expect(rememberedAfter(cache, 299, 'token-b')).toBe(alice);
    expect(rememberedAfter(cache, 2, 'token-b')).toBeUndefined();
  });

  it('a token already past exp but within the tolerance is remembered for what is left of it', () => {
    const cache = new VerifiedTokenCache(10, 30);
    cache.remember('token-c', verified(Date.now() / 1000 - 20, alice));
    expect(rememberedAfter(cache, 9, 'token-c')).toBe(alice);
    expect(rememberedAfter(cache, 2, 'token-c')).toBeUndefined();
  });

  it('is not remembered when nothing is left (exp + tolerance is now or past)', () => {
    const cache = new VerifiedTokenCache(10, 30);
    cache.remember('at-the-edge', verified(Date.now() / 1000 - 30, alice));
    cache.remember('past', verified(Date.now() / 1000 - 31, alice));
    for (const token of ['at-the-edge', 'past']) expect(cache.get(token)).toBeUndefined();
  });

  it('tells tokens apart, and holds at most maxEntries (least recently used go first)', () => {
    const cache = new VerifiedTokenCache(2, 0);
    const bob: Principal = { ...alice, caller: 'jwt:i:bob' as CallerId };
    const exp = Date.now() / 1000 + 60;
    cache.remember('token-1', verified(exp, alice));
    cache.remember('token-2', verified(exp, bob));
    expect(cache.get('token-1')?.principal).toBe(alice);
    expect(cache.get('token-2')?.principal).toBe(bob);
    expect(cache.get('token-3')).toBeUndefined();
    cache.remember('token-3', verified(exp, bob));
    expect(cache.get('token-1')).toBeUndefined();
  });
});
