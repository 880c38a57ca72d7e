import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Principal } from './principal.js';

/** A cached verification never outlives this, whatever the token's `exp`. */
const MAX_TTL_MS = 5 * 60_000;

/** What a verification found, and which generation of the key set it was checked against (JwtKeys). */
export interface RememberedToken {
  principal: Principal;
  expiresAt: number;
  generation: number;
}

/**
 * Callers reuse one access token for many requests (a portal session, a script's run). Like Envoy's jwt_authn cache,
 * this remembers what a token that verified names, until the token expires (with the configured clock tolerance, as
 * the verifier allows) or five minutes pass, whichever is first. Only TokenVerifier consults it, and only while the
 * key set is the one the token was verified against. Keys are SHA-256 digests: it never holds a bearer token.
 */
export class VerifiedTokenCache {
  private readonly cache: LRUCache<string, RememberedToken>;

  constructor(
    maxEntries: number,
    private readonly clockToleranceSeconds: number,
  ) {
    this.cache = new LRUCache({ max: maxEntries });
  }

  get(token: string): RememberedToken | undefined {
    return this.cache.get(digest(token));
  }

  remember(token: string, entry: RememberedToken): void {
    const ttl = Math.min(MAX_TTL_MS, entry.expiresAt + this.clockToleranceSeconds * 1000 - Date.now());
    if (ttl > 0) this.cache.set(digest(token), entry, { ttl });
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}
