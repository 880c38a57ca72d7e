/**
 * One replica's login transactions on a clock the test moves: bounded per client address (rate and live count) and
 * in all, freed when used or expired; and what a client address is (IPv6 by /64).
 */
import { clientAddress } from '../../../src/common/client-address.js';
import { type LoginLimits, refusalError } from '../../../src/console/login-transactions.js';
import { MemoryLoginTransactions } from '../../../src/console/memory-login-transactions.js';

const SECOND = 1000;

function setup(limits: Partial<LoginLimits> = {}) {
  let now = Date.UTC(2026, 11, 5, 8, 0, 0);
  const store = new MemoryLoginTransactions(
    { max: 10_000, perAddress: 50, perAddressPerWindow: 30, ...limits },
    () => now,
  );
  let next = 0;
  return {
    store,
    advance: (ms: number) => {
      now += ms;
    },
    /** Starts `count` logins from `address`; the keys of those admitted, and the refusals. */
    async start(address: string, count = 1) {
      const admitted: string[] = [];
      const refused = [];
      for (let i = 0; i < count; i++) {
        const key = `tx:${next++}`;
        const refusal = await store.begin(address, key, `pending ${key}`);
        if (refusal) refused.push(refusal);
        else admitted.push(key);
      }
      return { admitted, refused };
    },
  };
}

describe('login transactions in memory', () => {
  it('one address may start loginsPerAddressPerMinute a minute; the rest is refused until its window ends', async () => {
    const { start, advance } = setup({ perAddressPerWindow: 30 });
    const flood = await start('198.51.100.7', 1000);
    expect(flood.admitted).toHaveLength(30);
    expect(flood.refused).toHaveLength(970);
    expect(flood.refused[0]).toEqual({ reason: 'rate', retryAfterMs: 60 * SECOND });
    // Another address is not affected.
    expect((await start('198.51.100.8')).admitted).toHaveLength(1);
    advance(59 * SECOND);
    expect((await start('198.51.100.7')).refused).toEqual([{ reason: 'rate', retryAfterMs: SECOND }]);
    advance(SECOND);
    expect((await start('198.51.100.7')).admitted).toHaveLength(1);
  });

  it('one address holds at most pendingLoginsPerAddress unfinished logins; finishing one frees its place', async () => {
    const { store, start, advance } = setup({ perAddress: 5, perAddressPerWindow: 1000 });
    const first = await start('198.51.100.7', 5);
    advance(10 * SECOND);
    const more = await start('198.51.100.7', 3);
    expect(more.admitted).toEqual([]);
    // Until the oldest expires (they all live 300 s).
    expect(more.refused[0]).toEqual({ reason: 'address', retryAfterMs: 290 * SECOND });
    expect(await store.take(first.admitted[2])).toBe(`pending ${first.admitted[2]}`);
    expect((await start('198.51.100.7', 2)).admitted).toHaveLength(1);
  });

  it('at most maxPendingLogins in all: then 503 for everyone, until one finishes or expires', async () => {
    const { store, start, advance } = setup({ max: 20, perAddress: 5, perAddressPerWindow: 1000 });
    const admitted: string[] = [];
    for (let n = 0; n < 4; n++) admitted.push(...(await start(`203.0.113.${n}`, 5)).admitted);
    expect(admitted).toHaveLength(20);
    advance(100 * SECOND);
    expect((await start('203.0.113.200')).refused).toEqual([{ reason: 'full', retryAfterMs: 200 * SECOND }]);
    await store.take(admitted[7]);
    expect((await start('203.0.113.200')).admitted).toHaveLength(1);
    expect((await start('203.0.113.201')).refused).toHaveLength(1);
    advance(200 * SECOND);
    expect((await start('203.0.113.201', 19)).admitted).toHaveLength(5);
  });

  it('a transaction is used once, and not after 300 s', async () => {
    const { store, start, advance } = setup();
    const [a, b] = (await start('198.51.100.7', 2)).admitted;
    expect(await store.take(a)).toBe(`pending ${a}`);
    expect(await store.take(a)).toBeUndefined();
    advance(300 * SECOND);
    expect(await store.take(b)).toBeUndefined();
    expect(await store.take('tx:never')).toBeUndefined();
  });

  it('an address refused for its rate or count takes nothing from anyone: another address still starts', async () => {
    const { start } = setup({ max: 100, perAddress: 10, perAddressPerWindow: 20 });
    await start('198.51.100.7', 10_000);
    expect((await start('198.51.100.8', 10)).admitted).toHaveLength(10);
  });

  it('rate windows are bounded too: as many as maxPendingLogins, the oldest forgotten first', async () => {
    const { store, start } = setup({ max: 3, perAddress: 1, perAddressPerWindow: 1 });
    await start('a');
    expect((await start('a')).refused[0].reason).toBe('rate');
    await start('b');
    await start('c');
    await start('d');
    expect((store as unknown as { windows: Map<string, unknown> }).windows.size).toBe(3);
    // a's window was the oldest: forgotten, a counts from zero again (and is refused for its live login instead).
    expect((await start('a')).refused[0].reason).toBe('address');
  });
});

describe('client address', () => {
  it('is the IPv4 address, or the /64 of an IPv6 one', () => {
    expect(clientAddress('198.51.100.7')).toBe('198.51.100.7');
    expect(clientAddress('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(clientAddress('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:DB8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:0db8:0001:0002:ffff::1.2.3.4')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientAddress('2001:db8:0:0:1::1')).toBe('2001:db8:0:0::/64');
    expect(clientAddress('::1')).toBe('0:0:0:0::/64');
    expect(clientAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientAddress(undefined)).toBe('unknown');
  });
});

describe('refused logins', () => {
  it('are 429 RATE_LIMITED for the address, 503 OVERLOADED for everyone, with Retry-After in whole seconds', () => {
    expect(refusalError({ reason: 'rate', retryAfterMs: 1500 })).toMatchObject({
      code: 'RATE_LIMITED',
      status: 429,
      details: { retryAfter: 2 },
    });
    expect(refusalError({ reason: 'address', retryAfterMs: 0 })).toMatchObject({
      status: 429,
      details: { retryAfter: 1 },
    });
    expect(refusalError({ reason: 'full', retryAfterMs: 200_000 })).toMatchObject({
      code: 'OVERLOADED',
      status: 503,
      details: { retryAfter: 200 },
    });
  });
});
