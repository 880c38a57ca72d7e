import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { from, mergeMap, type Observable, of, throwError } from 'rxjs';
import { catchError } from 'rxjs/operators';
import { ApplianceRegistry } from '../../appliances/appliance-registry.service.js';
import { GatewayConfig } from '../../config/gateway-config.js';
import { StoredProblem } from '../../problems/stored-problem.js';
import { IdempotentRuns } from './idempotent-runs.service.js';
import type { RunAnswer } from './run-answers.js';
import { admittedRun, type RunHttpRequest, runRouteOf } from './run-route.js';

/**
 * The Idempotency-Key of a run route, and the answer it stores, around the handler: a stored answer is replayed
 * without the handler (a problem through the exception filter, as every problem), a claimed key is handed to the
 * use case (HeldKey), which settles it with the audit entries recording its answers; after the handler the key is
 * finished (a fleet's whole answer written, or a key whose answer is not final released). The handler returns the
 * answer as a value; its headers (Location) are set here.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly keys: IdempotentRuns,
    private readonly registry: ApplianceRegistry,
    private readonly config: GatewayConfig,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler<RunAnswer>): Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<RunHttpRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const { target } = runRouteOf(context);
    const fleet = target === 'fleet';
    const { body: _body, ...run } = admittedRun(request);
    const key = request.headers['idempotency-key'];
    const begun = await this.keys.begin(request.user, {
      key: Array.isArray(key) ? key.join(',') : key,
      method: request.method,
      url: request.url,
      body: request.body ?? null,
      run,
      // A fleet's lease covers the most members it may have.
      members: fleet ? Math.min(this.config.fleet.maxAppliances, this.registry.size) : 1,
    });
    if ('replay' in begun) {
      const { status, headers, body } = begun.replay;
      if (status >= 400) throw new StoredProblem(status, headers, JSON.stringify(body));
      for (const [name, value] of Object.entries(headers)) reply.header(name, value);
      reply.header('idempotent-replayed', 'true');
      return of(body);
    }
    const { hold } = begun;
    request.runKey = hold;
    return next.handle().pipe(
      mergeMap(async (answer) => {
        await this.keys.finish(hold, answer, fleet);
        for (const [name, value] of Object.entries(answer.headers)) reply.header(name, value);
        return answer.body;
      }),
      // A refused or failed run: its final answer is settled already (with its audit entry); anything else frees the key.
      catchError((error: unknown) => from(this.keys.abandon(hold)).pipe(mergeMap(() => throwError(() => error)))),
    );
  }
}
