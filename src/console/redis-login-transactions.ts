import type { SharedState } from '../redis/shared-state.js';
import type { SharedStore } from '../redis/shared-store.js';
import {
  LOGIN_RATE_WINDOW_MS,
  LOGIN_TTL_SECONDS,
  type LoginLimits,
  type LoginRefusal,
  type LoginTransactionStore,
} from './login-transactions.js';
import { unlessRedisFails } from './redis-unavailable.js';
import type { RecordSeal } from './sealed-console-store.js';

/**
 * Apart from the sessions' `console:session:`: nothing here is ever read on a session's way. Transactions are under
 * PREFIX + their key (`tx:{digest}`, store-keys.ts).
 */
const PREFIX = 'console:login:';
/** A sorted set of every live transaction, scored by when it expires: its size is the bound in all. */
const ALL = `${PREFIX}all`;
/** The same, per client address (a keyed digest of it). */
const BY_ADDRESS = `${PREFIX}addr:`;
/** A fixed-window counter per client address. */
const RATE = `${PREFIX}rate:`;

/**
 * One atomic step, on Redis's clock (replicas' clocks may differ): count the address's hit, then refuse past its
 * rate, past its live transactions or past the live transactions of all, else keep the transaction and count it.
 * Expired members leave the sorted sets here; every key expires on its own, the sets with their newest member.
 */
const BEGIN = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
local hits = redis.call('INCR', KEYS[3])
if hits == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[6]) end
if hits > tonumber(ARGV[5]) then return { 'rate', redis.call('PTTL', KEYS[3]) } end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  return { 'address', tonumber(redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]) - now }
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return { 'full', tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]) - now }
end
redis.call('SET', KEYS[4], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[7])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[7])
redis.call('PEXPIRE', KEYS[2], ttl)
return { 'ok', 0 }`;

/**
 * Login transactions shared by replicas (a login may start on one and finish on another), bounded the way
 * MemoryLoginTransactions bounds one replica's, in Redis: at most `maxPendingLogins` transactions and their two
 * sorted sets, and one rate counter per address seen in the last minute. Values are sealed to their key (they hold
 * the PKCE verifier and nonce); addresses appear only as keyed digests. Redis not answering is a 503, as for
 * sessions.
 */
export class RedisLoginTransactions implements LoginTransactionStore {
  readonly kind = 'redis';
  private readonly ttlMs = LOGIN_TTL_SECONDS * 1000;

  constructor(
    private readonly state: SharedState,
    private readonly seal: RecordSeal,
    private readonly limits: LoginLimits,
  ) {}

  begin(address: string, key: string, value: string): Promise<LoginRefusal | undefined> {
    const tag = this.seal.tag(address);
    return this.call(async (store) => {
      const [outcome, ms] = (await store.script(
        BEGIN,
        [ALL, BY_ADDRESS + tag, RATE + tag, PREFIX + key],
        [
          // The address's tag rides along, so that take() finds the address's set without knowing the address.
          `${tag} ${this.seal.seal(PREFIX + key, value)}`,
          this.ttlMs,
          this.limits.max,
          this.limits.perAddress,
          this.limits.perAddressPerWindow,
          LOGIN_RATE_WINDOW_MS,
          key,
        ],
      )) as [string, number];
      return outcome === 'ok' ? undefined : { reason: outcome as LoginRefusal['reason'], retryAfterMs: Number(ms) };
    });
  }

  take(key: string): Promise<string | undefined> {
    return this.call(async (store) => {
      const stored = await store.take(PREFIX + key);
      if (stored === undefined) return undefined;
      const space = stored.indexOf(' ');
      // Its slot is free again at once (a replica dying in between leaves a member that expires with its score).
      await store.removeMember(key, [ALL, BY_ADDRESS + stored.slice(0, space)]);
      return this.seal.open(PREFIX + key, stored.slice(space + 1));
    });
  }

  private call<T>(operation: (store: SharedStore) => Promise<T>): Promise<T> {
    return unlessRedisFails('Console sign-in needs', () => this.state.required(operation));
  }
}
