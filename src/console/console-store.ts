/**
 * Where console sessions live: a key-value store with expiry. In memory by default; in Redis when `redis.url` is
 * set, so every replica sees every session, and then sealed (SealedConsoleStore). Keys are digests of the browser's
 * random ids, never the ids themselves: whoever reads the store cannot replay a cookie from it. Only sign-ins write
 * here; login transactions, which anyone can start, live apart (LoginTransactionStore).
 */
export interface ConsoleStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /**
   * Replaces the value only while the key still exists (Redis SET XX): false, nothing written, once it is gone. For
   * write-backs of a record read earlier, which must never bring back a session that a logout ended meanwhile.
   */
  update(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Reads and deletes in one step: a login transaction is used once, even when two replicas race. */
  take(key: string): Promise<string | undefined>;
  delete(key: string): Promise<void>;
  /** True when this caller may go ahead (a token refresh); false while another holds it, until `ttlMs` passes. */
  lock(key: string, ttlMs: number): Promise<boolean>;
  unlock(key: string): Promise<void>;
  /** Where it lives, for the start-up log line. */
  readonly kind: 'memory' | 'redis';
}

export const CONSOLE_STORE = Symbol.for('backup-gateway:console-store');
