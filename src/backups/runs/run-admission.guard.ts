import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { IdentifierPipe } from '../../http/identifier.pipe.js';
import { DtoValidationPipe } from '../../http/validation.pipe.js';
import { describeRun, type RunHttpRequest, runRouteOf } from './run-route.js';
import { RunsService } from './runs.service.js';

/**
 * At the door of every run route, before anything reads or records the request (its Idempotency-Key's stored answer
 * included): its input is checked with the route's own pipes, so bad input is a 400 that records and claims nothing;
 * then the run use case admits the caller or refuses it, and a refusal is audited there. Guards run before pipes in
 * Nest, hence the check here; the handler takes the validated body from it (Admitted).
 */
@Injectable()
export class RunAdmissionGuard implements CanActivate {
  private readonly identifiers = new IdentifierPipe();

  constructor(
    private readonly runs: RunsService,
    private readonly validation: DtoValidationPipe,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RunHttpRequest>();
    const route = runRouteOf(context);
    const params = request.params as Record<string, unknown>;
    for (const id of route.ids) this.identifiers.transform(params[id], { type: 'param', data: id });
    await this.validation.transform(request.query, { type: 'query', metatype: route.query });
    const body = (await this.validation.transform(request.body, { type: 'body', metatype: route.body })) as object;
    const run = describeRun(request, route.target, body, (named) => this.runs.target(named));
    const target = route.target === 'fleet' ? 'fleet' : { appliance: run.appliance };
    await this.runs.admit(request.user, run.origin, target, { schedule: run.schedule, comment: run.comment });
    // For KeyedRuns and the handler: the body is not validated, nor the appliance resolved, a second time.
    request.admitted = run;
    return true;
  }
}
