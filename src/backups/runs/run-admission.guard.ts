import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { describeRun, type RunHttpRequest, runTargetOf } from './run-route.js';
import { RunsService } from './runs.service.js';

/**
 * May this caller ask for this run at all? Decided after authentication and the caller's limits, before anything
 * else reads the request (its Idempotency-Key's stored answer included): the run use case admits or refuses, and a
 * refusal is audited there.
 */
@Injectable()
export class RunAdmissionGuard implements CanActivate {
  constructor(private readonly runs: RunsService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RunHttpRequest>();
    const target = runTargetOf(context);
    const run = describeRun(request, target, (appliance) => this.runs.target(appliance));
    // A malformed id: validation answers 400 before the handler, so nothing can run unadmitted.
    if (run.appliance === undefined) return true;
    const { schedule, comment } = run;
    await this.runs.admit(request.user, target === 'fleet' ? 'fleet' : { appliance: run.appliance }, {
      schedule,
      comment,
    });
    return true;
  }
}
