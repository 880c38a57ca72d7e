import type { ConsoleConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';

/**
 * A login started at the provider must come back within this (the user types a password, maybe a second factor).
 * Every transaction lives exactly this long, which the stores rely on: the order they were started in is the order
 * they expire in.
 */
export const LOGIN_TTL_SECONDS = 300;

/** The window of `loginsPerAddressPerMinute`. */
export const LOGIN_RATE_WINDOW_MS = 60_000;

export interface LoginLimits {
  /** Live transactions in all. */
  max: number;
  /** Live transactions of one client address. */
  perAddress: number;
  /** Transactions one client address may start per window (LOGIN_RATE_WINDOW_MS). */
  perAddressPerWindow: number;
}

export function loginLimits(config: ConsoleConfig): LoginLimits {
  return {
    max: config.maxPendingLogins,
    perAddress: config.pendingLoginsPerAddress,
    perAddressPerWindow: config.loginsPerAddressPerMinute,
  };
}

/** Why a login may not start now, and in how many milliseconds it might. */
export type LoginRefusal = { reason: 'rate' | 'address' | 'full'; retryAfterMs: number };

/**
 * Where OpenID login transactions wait for the provider's answer: anyone may start one, without any credential, so
 * they are kept apart from sessions (no flood of them can evict or slow a session) and bounded in all and per client
 * address, with a per-address rate on top. In memory, or in Redis with the sessions' replicas.
 */
export interface LoginTransactionStore {
  /** Keeps `value` under `key` for LOGIN_TTL_SECONDS, unless `address` or the gateway is over a bound. */
  begin(address: string, key: string, value: string): Promise<LoginRefusal | undefined>;
  /** Reads and deletes in one step: a transaction is used once, even when two replicas race. */
  take(key: string): Promise<string | undefined>;
  readonly kind: 'memory' | 'redis';
}

export const LOGIN_TRANSACTIONS = Symbol.for('backup-gateway:login-transactions');

/** The problem document of a refused login: this address's doing (429), or everyone's (503). */
export function refusalError(refusal: LoginRefusal): GatewayError {
  const retryAfter = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
  if (refusal.reason === 'full') {
    return new GatewayError(
      'OVERLOADED',
      `Too many sign-ins are under way on this gateway; try again in ${retryAfter} s.`,
      { retryAfter },
    );
  }
  return new GatewayError(
    'RATE_LIMITED',
    `Too many sign-ins were started from your address; try again in ${retryAfter} s.`,
    { retryAfter },
  );
}
