import { ExecutionContext, Inject, Injectable, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard, IAuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { originOf } from '../context/call-origin.js';
import { GatewayError } from '../problems/gateway-error.js';
import { IS_PUBLIC } from './auth.decorators.js';
import { FAILED_AUTHENTICATIONS, type FailedAuthentications } from './failed-authentications.js';
import { presentedCredential } from './presented-credential.js';
import type { Principal } from './principal.js';

/**
 * Global guard: every route needs an authenticated principal unless marked @Public(), so a forgotten
 * decorator fails closed. Tries each configured passport strategy (JWT bearer, X-API-Key) in turn.
 */
export function authenticationGuard(strategies: string[]): Type<IAuthGuard> {
  @Injectable()
  class AuthenticationGuard extends AuthGuard(strategies) {
    constructor(
      private readonly reflector: Reflector,
      @Inject(FAILED_AUTHENTICATIONS) private readonly failures: FailedAuthentications,
    ) {
      super();
    }

    override async canActivate(context: ExecutionContext): Promise<boolean> {
      const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
      if (isPublic) return true;
      const request = context.switchToHttp().getRequest<FastifyRequest>();
      const credential = presentedCredential(request.headers);
      if (!credential) return (await super.canActivate(context)) as boolean;
      // Before the credential is looked at: an address past its failures learns nothing more, right or wrong.
      const retryAfter = this.failures.retryAfter(request.ip);
      if (retryAfter > 0) {
        throw new GatewayError(
          'RATE_LIMITED',
          `Too many failed authentications from your address; retry after ${retryAfter} s.`,
          { retryAfter },
        );
      }
      try {
        return (await super.canActivate(context)) as boolean;
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'UNAUTHENTICATED')
          this.failures.failed(originOf(request), credential);
        throw error;
      }
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
