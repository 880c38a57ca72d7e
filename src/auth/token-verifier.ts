import { jwtVerify } from 'jose';
import type { JwtConfig } from '../config/gateway-config.js';
import { JwtKeys } from './jwt-keys.js';
import { type Principal, principalFromClaims } from './principal.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/** A token that verified: who it names, and until when it is valid. */
export interface VerifiedToken {
  principal: Principal;
  /** `exp`, in ms since the epoch. */
  expiresAt: number;
}

/**
 * Every access token the gateway accepts, a bearer token on the API or the one a console session was opened with, is
 * verified here, with jose and one policy: the configured algorithms (never `none`), the signature against JwtKeys,
 * `iss` and `aud` as configured, `exp` and `sub` required (RFC 9068), `nbf` honoured, the configured clock tolerance,
 * and no `crit` header extension (jose refuses those it does not implement, RFC 7515 §4.1.11).
 *
 * A portal sends one token with many requests, and its signature is the largest single cost of an authenticated call:
 * a token that verified is remembered (VerifiedTokenCache), here and nowhere else, and only while the key set it was
 * verified against is still the one jose holds, so a refetch that withdraws a key ends every verification made with it.
 */
export class TokenVerifier {
  private readonly keys: JwtKeys;
  private readonly verified: VerifiedTokenCache | undefined;

  constructor(private readonly config: JwtConfig) {
    this.keys = new JwtKeys(config);
    if (config.verifiedTokenCacheSize > 0) {
      this.verified = new VerifiedTokenCache(config.verifiedTokenCacheSize, config.clockToleranceSeconds);
    }
  }

  /** The token's principal and expiry, or a thrown error (never naming the token) saying why it is refused. */
  async verify(token: string): Promise<VerifiedToken> {
    const remembered = this.verified?.get(token);
    if (remembered && remembered.generation === this.keys.generation() && this.keys.current()) return remembered;
    const generation = this.keys.generation();
    const { payload } = await jwtVerify(token, this.keys.key as Parameters<typeof jwtVerify>[1], {
      issuer: this.config.issuer,
      audience: this.config.audience,
      algorithms: this.config.algorithms,
      clockTolerance: this.config.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
    });
    const principal = principalFromClaims(this.config.issuer, payload);
    if (!principal) throw new Error('the token names no subject');
    const result = { principal, expiresAt: (payload.exp as number) * 1000 };
    // Remembered against the set the signature was checked with; when a fetch happened meanwhile (the first one
    // included) it is not known which set that was, and the next request verifies again.
    if (this.keys.generation() === generation) this.verified?.remember(token, { ...result, generation });
    return result;
  }
}
