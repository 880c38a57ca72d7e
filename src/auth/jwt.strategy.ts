import type { IncomingHttpHeaders } from 'node:http';
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Principal } from './principal.js';
import { RequestStrategy } from './request-strategy.js';
import { TokenVerifier } from './token-verifier.js';

export const JWT_STRATEGY = 'jwt';

/** `Authorization: Bearer <token>`, the scheme case-insensitive (RFC 7235 §2.1), the token68 as sent. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * Bearer access tokens from the company's OpenID provider (RFC 9068 `at+jwt` included), as a passport strategy that
 * only adapts: TokenVerifier decides.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(RequestStrategy<{ headers: IncomingHttpHeaders }>, JWT_STRATEGY) {
  constructor(private readonly tokens: TokenVerifier) {
    super();
  }

  async validate(request: { headers: IncomingHttpHeaders }): Promise<Principal | false> {
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (token === undefined) return false;
    try {
      return (await this.tokens.verify(token)).principal;
    } catch {
      return false;
    }
  }
}
