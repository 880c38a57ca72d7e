import { jwtVerify } from 'jose';
import { JwtKeyResolver } from '../auth/jwt-key-resolver.js';
import { scopesFromClaims } from '../auth/principal.js';
import type { JwtConfig } from '../config/gateway-config.js';

/**
 * A console session may do exactly what its user's access token may do, no more: the scopes of a session are those of
 * the access token the provider issued at login (and at every refresh), verified with the gateway's own JWT settings
 * (`auth.jwt`: issuer, audience, keys, algorithms, clock tolerance) as if it had come as a bearer token. A provider
 * whose console tokens the API would not accept cannot sign anyone in to the console either.
 */
export class AccessTokenVerifier {
  private readonly keys: JwtKeyResolver;

  constructor(private readonly config: JwtConfig) {
    this.keys = new JwtKeyResolver(config);
  }

  /** The token's claims and scopes, or a thrown error saying (without the token) why it is not acceptable. */
  async verify(accessToken: string): Promise<{ subject: string | undefined; scopes: Set<string>; expiresAt: number }> {
    const { payload } = await jwtVerify(accessToken, (header) => this.keys.resolve(header), {
      issuer: this.config.issuer,
      audience: this.config.audience,
      algorithms: this.config.algorithms,
      clockTolerance: this.config.clockToleranceSeconds,
      requiredClaims: ['exp'],
    });
    return {
      subject: typeof payload.sub === 'string' ? payload.sub : undefined,
      scopes: scopesFromClaims(payload),
      expiresAt: (payload.exp as number) * 1000,
    };
  }
}
