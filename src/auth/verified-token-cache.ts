import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Principal } from './principal.js';

/** A cached verification never outlives this, whatever the token's `exp`: key rotation and JWKS changes catch up. */
const MAX_TTL_MS = 5 * 60_000;

/**
 * Callers reuse one access token for many requests (a portal session, a script's run), and verifying its RS256
 * signature again each time is the largest single cost of an authenticated call. Like Envoy's jwt_authn cache,
 * this remembers the principal of a token that verified, until the token expires (with the configured clock
 * tolerance, as the verifier allows) or five minutes pass, whichever is first.
 * Keys are SHA-256 digests: the cache never holds a bearer token. Tokens without a numeric `exp` are not cached.
 */
export class VerifiedTokenCache {
  private readonly cache: LRUCache<string, Principal>;

  constructor(
    maxEntries: number,
    private readonly clockToleranceSeconds: number,
  ) {
    this.cache = new LRUCache({ max: maxEntries });
  }

  get(token: string): Principal | undefined {
    return this.cache.get(digest(token));
  }

  remember(token: string, claims: Record<string, unknown>, principal: Principal): void {
    if (typeof claims.exp !== 'number') return;
    const ttl = Math.min(MAX_TTL_MS, (claims.exp + this.clockToleranceSeconds) * 1000 - Date.now());
    if (ttl > 0) this.cache.set(digest(token), principal, { ttl });
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}
