import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApplianceRegistry } from '../../appliances/appliance-registry.service.js';
import { GatewayConfig } from '../../config/gateway-config.js';
import { StoredProblem } from '../../problems/stored-problem.js';
import { IdempotentRuns } from './idempotent-runs.service.js';
import type { RunAnswer } from './run-answers.js';
import { admittedRun, type RunHttpRequest } from './run-route.js';
import type { RunKey } from './runs.service.js';

/** One single run, or a fleet of them (its key's lease covers every member). */
export type RunScope = 'single' | 'fleet';

/**
 * A run route's answer, under its Idempotency-Key: a stored answer is replayed without running (a problem through
 * the exception filter, as every problem); a claimed key is handed to the run (RunKey), which settles it with the
 * audit entries recording its answers; after the run the key is finished (a fleet's whole answer written, or a key
 * whose answer is not final released). The run returns its answer as a value; its status and headers (Location) are
 * set here (a route whose answer's status varies sends the body itself: Nest would set its @HttpCode over it).
 * `variant`: what else than method, path and body makes two requests different (a fleet run's `Prefer:
 * respond-async`): part of the key's fingerprint.
 *
 * Called by the run routes themselves rather than wrapped around them as a Nest interceptor: a route with an
 * interceptor answers through an rxjs pipeline (defer, switchMap, tap, takeUntil) on every request, which the run
 * path's CPU budget cannot afford (docs/performance-decisions.md, "Removed").
 */
@Injectable()
export class KeyedRuns {
  constructor(
    private readonly keys: IdempotentRuns,
    private readonly registry: ApplianceRegistry,
    private readonly config: GatewayConfig,
  ) {}

  async answer(
    request: RunHttpRequest,
    reply: FastifyReply,
    scope: RunScope,
    run: (key: RunKey | undefined) => Promise<RunAnswer>,
    variant?: string,
  ): Promise<unknown> {
    const fleet = scope === 'fleet';
    const { body: _body, origin, ...described } = admittedRun(request);
    const key = request.headers['idempotency-key'];
    const begun = await this.keys.begin(request.user, {
      key: Array.isArray(key) ? key.join(',') : key,
      method: request.method,
      url: request.url,
      body: request.body ?? null,
      variant,
      run: described,
      origin,
      // A fleet's lease covers the most members it may have.
      members: fleet ? Math.min(this.config.fleet.maxAppliances, this.registry.size) : 1,
    });
    if ('replay' in begun) {
      const { status, headers, body } = begun.replay;
      if (status >= 400) throw new StoredProblem(status, headers, JSON.stringify(body));
      reply.status(status);
      reply.headers(headers);
      reply.header('idempotent-replayed', 'true');
      return body;
    }
    const { hold } = begun;
    let answer: RunAnswer;
    // The claim is renewed while the run goes on, and no longer once it has answered (before the key is finished).
    const stopKeepingAlive = this.keys.keepAlive(hold);
    try {
      answer = await run(hold && { hold, instance: request.url.split('?')[0] }).finally(stopKeepingAlive);
    } catch (error) {
      // A refused or failed run: its final answer is settled already (with its audit entry); anything else frees the key.
      await this.keys.abandon(hold);
      throw error;
    }
    await this.keys.finish(hold, answer, fleet);
    reply.status(answer.status);
    reply.headers(answer.headers);
    return answer.body;
  }
}
