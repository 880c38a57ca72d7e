import { ExecutionContext, Injectable, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard, IAuthGuard } from '@nestjs/passport';
import { GatewayError } from '../problems/gateway-error.js';
import { IS_PUBLIC } from './auth.decorators.js';
import type { Principal } from './principal.js';

/**
 * Global guard: every route needs an authenticated principal unless marked @Public(), so a forgotten
 * decorator fails closed. Tries each configured passport strategy (JWT bearer, X-API-Key) in turn.
 */
export function authenticationGuard(strategies: string[]): Type<IAuthGuard> {
  @Injectable()
  class AuthenticationGuard extends AuthGuard(strategies) {
    constructor(private readonly reflector: Reflector) {
      super();
    }

    override canActivate(context: ExecutionContext) {
      const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
      if (isPublic) return true;
      return super.canActivate(context);
    }

    override handleRequest<T = Principal>(error: unknown, user: T | false): T {
      // A strategy's own refusal says why (a console session used from another site); anything else is a 401.
      if (error instanceof GatewayError) throw error;
      if (error || !user) {
        throw new GatewayError(
          'UNAUTHENTICATED',
          'Send a valid access token (Authorization: Bearer <token>) or API key (X-API-Key).',
        );
      }
      return user;
    }
  }
  return AuthenticationGuard;
}
