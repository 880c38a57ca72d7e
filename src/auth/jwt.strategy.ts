import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { canonicalText } from '../common/text.js';
import type { JwtConfig } from '../config/gateway-config.js';
import { JwtKeyResolver } from './jwt-key-resolver.js';
import { Principal, scopesFromClaims } from './principal.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

export const JWT_STRATEGY = 'jwt';

/**
 * Bearer access tokens from the company's OpenID provider (RFC 9068 `at+jwt` included):
 * signature with an allow-listed algorithm (never `none`), `iss`, `aud`, `exp`/`nbf` with clock tolerance.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  private readonly verified: VerifiedTokenCache | undefined;

  constructor(config: JwtConfig) {
    const resolver = new JwtKeyResolver(config);
    super({
      jwtFromRequest: bearerToken,
      passReqToCallback: true,
      secretOrKeyProvider: (_request, rawJwt, done) => {
        const header = headerOf(rawJwt);
        // RFC 7515 §4.1.11: a token naming an extension the recipient does not understand must be refused; we
        // understand none, and jsonwebtoken ignores `crit`.
        if (header.crit !== undefined) return done(new Error('the token names critical header extensions'));
        resolver.resolve(header).then(
          // jsonwebtoken verifies with a KeyObject as it does with a PEM; passport-jwt's types predate that.
          (key) => done(null, key as unknown as string),
          () => done(new Error('no key to verify the token')),
        );
      },
      issuer: config.issuer,
      audience: config.audience,
      algorithms: config.algorithms,
      jsonWebTokenOptions: { clockTolerance: config.clockToleranceSeconds },
      ignoreExpiration: false,
    });
    if (config.verifiedTokenCacheSize > 0) {
      this.verified = new VerifiedTokenCache(config.verifiedTokenCacheSize, config.clockToleranceSeconds);
    }
  }

  /** The principal of a bearer token that verified recently (passport-jwt checked its signature and claims). */
  remembered(request: { headers: Record<string, unknown> }): Principal | undefined {
    if (!this.verified) return undefined;
    const token = bearerToken(request as unknown as Request);
    return token ? this.verified.get(token) : undefined;
  }

  /** A token that verified recently skips passport-jwt (signature, claims) and yields the same principal. */
  override authenticate(request: Request, options?: object): void {
    const known = this.remembered(request);
    if (known) {
      this.success(known);
      return;
    }
    super.authenticate(request, options);
  }

  validate(request: Request, claims: Record<string, unknown>): Principal | false {
    // RFC 9068 requires `exp`; jsonwebtoken accepts a token without one, which would never expire.
    if (typeof claims.exp !== 'number') return false;
    const subject = stringClaim(claims, 'sub');
    const clientId = stringClaim(claims, 'client_id') ?? stringClaim(claims, 'azp') ?? stringClaim(claims, 'appid');
    const principal: Principal = {
      subject: subject ?? clientId ?? 'unknown',
      name: stringClaim(claims, 'name') ?? stringClaim(claims, 'preferred_username'),
      clientId,
      authMethod: 'jwt',
      scopes: scopesFromClaims(claims),
    };
    const token = this.verified && bearerToken(request);
    if (token) this.verified?.remember(token, claims, principal);
    return principal;
  }
}

const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();

/** Claims are text the identity provider signed, not text we trust: canonical and bounded before anyone keeps it. */
function stringClaim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? canonicalText(value, MAX_CLAIM_LENGTH) : undefined;
}

const MAX_CLAIM_LENGTH = 256;

/** Only to pick the key; jsonwebtoken checks the signature and the algorithm allowlist afterwards. */
function headerOf(rawJwt: string): { alg?: string; kid?: string; crit?: unknown } {
  try {
    const header = JSON.parse(Buffer.from(rawJwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    return {
      alg: typeof header.alg === 'string' ? header.alg : undefined,
      kid: typeof header.kid === 'string' ? header.kid : undefined,
      crit: header.crit,
    };
  } catch {
    return {};
  }
}
