import type { Redis } from 'ioredis';

/** A key, its value and how long it lives. */
export interface SharedEntry {
  key: string;
  value: string;
  ttlMs: number;
}

/** A counter in a fixed window: how many hits so far, and how long the window still runs. */
export interface WindowCount {
  count: number;
  msLeft: number;
}

/**
 * What replicas share, as the operations their consumers need, on Redis (under the gateway's key prefix): each one
 * Redis command, one MULTI or one script, so each is atomic on Redis's side. An operation that does not happen
 * (Redis away, stalled, refusing) rejects with RedisUnavailable; SharedState decides what follows, the caller's own
 * fallback or the failure itself (SharedState.orAlone, SharedState.required).
 */
export interface SharedStore {
  get(key: string): Promise<string | undefined>;
  /** Keeps `value` for `ttlMs` (PX, rounded up). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Several keys in one MULTI. */
  setAll(entries: readonly SharedEntry[]): Promise<void>;
  /** SET NX PX: true when this caller holds `key` now (a lease, a lock); false while another holds it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** SET XX PX: replaces `key` only while it exists; false (nothing written) when it is gone (deleted, expired). */
  setIfPresent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** GETDEL: read and delete in one step, so that two replicas racing for it cannot both have it. */
  take(key: string): Promise<string | undefined>;
  delete(key: string): Promise<void>;
  /** One more hit on `key`, in a fixed window that its first hit starts and that lasts `windowMs`. */
  countInWindow(key: string, windowMs: number): Promise<WindowCount>;
  /** ZREM of `member` from each sorted set of `sets`, in one MULTI. */
  removeMember(member: string, sets: readonly string[]): Promise<void>;
  /** A Lua script of the caller's (EVAL): several steps as one atomic step, on Redis's clock. */
  script(source: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

/** How every command goes out: SharedState's one gate (bounded, failures classified, fails fast while Redis is away). */
export type Send = <T>(command: () => Promise<T>) => Promise<T>;

/** The first hit starts the window; every hit counts; the reply is the count and the time left. */
const COUNT_IN_WINDOW = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { hits, ttl }`;

/** SharedStore on an ioredis client, through its public command API. */
export class RedisStore implements SharedStore {
  constructor(
    private readonly client: Redis,
    private readonly send: Send,
  ) {}

  get(key: string): Promise<string | undefined> {
    return this.send(async () => (await this.client.get(key)) ?? undefined);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.send(() => this.client.set(key, value, 'PX', Math.ceil(ttlMs)));
  }

  async setAll(entries: readonly SharedEntry[]): Promise<void> {
    await this.send(() => {
      const multi = this.client.multi();
      for (const { key, value, ttlMs } of entries) multi.set(key, value, 'PX', Math.ceil(ttlMs));
      return multi.exec();
    });
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.send(async () => (await this.client.set(key, value, 'PX', Math.ceil(ttlMs), 'NX')) === 'OK');
  }

  setIfPresent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.send(async () => (await this.client.set(key, value, 'PX', Math.ceil(ttlMs), 'XX')) === 'OK');
  }

  take(key: string): Promise<string | undefined> {
    return this.send(async () => (await this.client.getdel(key)) ?? undefined);
  }

  async delete(key: string): Promise<void> {
    await this.send(() => this.client.del(key));
  }

  countInWindow(key: string, windowMs: number): Promise<WindowCount> {
    return this.send(async () => {
      const [count, msLeft] = (await this.client.eval(COUNT_IN_WINDOW, 1, key, windowMs)) as [number, number];
      return { count, msLeft };
    });
  }

  async removeMember(member: string, sets: readonly string[]): Promise<void> {
    await this.send(() => {
      const multi = this.client.multi();
      for (const set of sets) multi.zrem(set, member);
      return multi.exec();
    });
  }

  script(source: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.send(() => this.client.eval(source, keys.length, ...keys, ...args));
  }
}
