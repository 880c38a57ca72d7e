import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { JwtConfig } from '../config/gateway-config.js';
import { JwtKeyResolver } from './jwt-key-resolver.js';
import { Principal, scopesFromClaims } from './principal.js';

export const JWT_STRATEGY = 'jwt';

/**
 * Bearer access tokens from the company's OpenID provider (RFC 9068 `at+jwt` included):
 * signature with an allow-listed algorithm (never `none`), `iss`, `aud`, `exp`/`nbf` with clock tolerance.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  constructor(config: JwtConfig) {
    const resolver = new JwtKeyResolver(config);
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_request, rawJwt, done) => {
        resolver.resolve(headerOf(rawJwt)).then(
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
  }

  validate(claims: Record<string, unknown>): Principal {
    const subject = typeof claims.sub === 'string' ? claims.sub : undefined;
    const clientId = stringClaim(claims, 'client_id') ?? stringClaim(claims, 'azp') ?? stringClaim(claims, 'appid');
    return {
      subject: subject ?? clientId ?? 'unknown',
      name: stringClaim(claims, 'name') ?? stringClaim(claims, 'preferred_username'),
      clientId,
      authMethod: 'jwt',
      scopes: scopesFromClaims(claims),
    };
  }
}

function stringClaim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Only to pick the key; jsonwebtoken checks the signature and the algorithm allowlist afterwards. */
function headerOf(rawJwt: string): { alg?: string; kid?: string } {
  try {
    const header = JSON.parse(Buffer.from(rawJwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    return {
      alg: typeof header.alg === 'string' ? header.alg : undefined,
      kid: typeof header.kid === 'string' ? header.kid : undefined,
    };
  } catch {
    return {};
  }
}
