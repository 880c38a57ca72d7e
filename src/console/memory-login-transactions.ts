import {
  LOGIN_RATE_WINDOW_MS,
  LOGIN_TTL_SECONDS,
  type LoginLimits,
  type LoginRefusal,
  type LoginTransactionStore,
} from './login-transactions.js';

interface Pending {
  value: string;
  address: string;
  expiresAt: number;
}

interface RateWindow {
  hits: number;
  endsAt: number;
}

/**
 * One replica's login transactions. Every map is bounded and pruned from its front: transactions all live
 * LOGIN_TTL_SECONDS and rate windows all last a minute, so insertion order is expiry order and a request pays only for
 * what expired since the last one, never a scan.
 */
export class MemoryLoginTransactions implements LoginTransactionStore {
  readonly kind = 'memory';
  private readonly pending = new Map<string, Pending>();
  /** Each address's live transaction keys, oldest first. */
  private readonly byAddress = new Map<string, Set<string>>();
  private readonly windows = new Map<string, RateWindow>();
  private readonly ttlMs = LOGIN_TTL_SECONDS * 1000;

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number = Date.now,
  ) {}

  async begin(address: string, key: string, value: string): Promise<LoginRefusal | undefined> {
    const now = this.now();
    this.expire(now);
    let window = this.windows.get(address);
    if (!window) {
      // As many windows as transactions: past that, the oldest window goes, which only lets its address start early.
      if (this.windows.size >= this.limits.max) this.windows.delete(this.windows.keys().next().value as string);
      window = { hits: 0, endsAt: now + LOGIN_RATE_WINDOW_MS };
      this.windows.set(address, window);
    }
    window.hits++;
    if (window.hits > this.limits.perAddressPerWindow) return { reason: 'rate', retryAfterMs: window.endsAt - now };
    const own = this.byAddress.get(address);
    if (own && own.size >= this.limits.perAddress) {
      return { reason: 'address', retryAfterMs: this.expiresIn(own.values().next().value, now) };
    }
    if (this.pending.size >= this.limits.max) {
      return { reason: 'full', retryAfterMs: this.expiresIn(this.pending.keys().next().value, now) };
    }
    this.pending.set(key, { value, address, expiresAt: now + this.ttlMs });
    if (own) own.add(key);
    else this.byAddress.set(address, new Set([key]));
    return undefined;
  }

  async take(key: string): Promise<string | undefined> {
    const pending = this.pending.get(key);
    if (!pending) return undefined;
    this.forget(key, pending);
    return pending.expiresAt > this.now() ? pending.value : undefined;
  }

  private expire(now: number): void {
    for (const [key, pending] of this.pending) {
      if (pending.expiresAt > now) break;
      this.forget(key, pending);
    }
    for (const [address, window] of this.windows) {
      if (window.endsAt > now) break;
      this.windows.delete(address);
    }
  }

  private forget(key: string, pending: Pending): void {
    this.pending.delete(key);
    const own = this.byAddress.get(pending.address);
    own?.delete(key);
    if (own?.size === 0) this.byAddress.delete(pending.address);
  }

  private expiresIn(key: string | undefined, now: number): number {
    const pending = key === undefined ? undefined : this.pending.get(key);
    return pending ? pending.expiresAt - now : this.ttlMs;
  }
}
