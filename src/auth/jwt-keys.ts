import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';
import type { JwtConfig } from '../config/gateway-config.js';

/**
 * The keys that may sign an access token: a fixed key (`publicKeyFile`, or `secret` for HS256) or the identity
 * provider's JWKS, which is jose's remote key set and nothing of ours: its cache age (`jwksCacheMaxAgeMs`), the
 * cooldown between refetches for an unknown `kid` (`jwksRefetchIntervalSeconds`), and after a refetch only what the
 * set lists is trusted. Withdrawing a key from the JWKS is how a provider revokes it, so nothing here remembers a key.
 *
 * `generation` counts the JWKS documents fetched (through jose's public `customFetch` option), so that a verification
 * remembered elsewhere (VerifiedTokenCache) is trusted only while the set it was verified against is still jose's.
 */
export class JwtKeys {
  readonly key: KeyObject | JWTVerifyGetKey;
  private readonly remote: RemoteJWKSet | undefined;
  private fetched = 0;

  constructor(config: JwtConfig) {
    if (config.secret !== undefined) this.key = createSecretKey(Buffer.from(config.secret, 'utf8'));
    else if (config.publicKeyFile !== undefined) this.key = createPublicKey(readFileSync(config.publicKeyFile));
    else if (config.jwksUri !== undefined) {
      this.remote = createRemoteJWKSet(new URL(config.jwksUri), {
        cacheMaxAge: config.jwksCacheMaxAgeMs,
        cooldownDuration: config.jwksRefetchIntervalSeconds * 1000,
        timeoutDuration: 5_000,
        [customFetch]: async (url, options) => {
          const response = await fetch(url, options);
          this.fetched++;
          return response;
        },
      });
      this.key = this.remote;
    } else throw new Error('auth.jwt: no key source (jwksUri, publicKeyFile or secret)');
  }

  /** Changes whenever the set a token is checked against may have changed; constant for a fixed key. */
  generation(): number {
    return this.fetched;
  }

  /** Whether jose would check a token against the set it holds now, without fetching it again first. */
  current(): boolean {
    return this.remote === undefined || this.remote.fresh;
  }
}
