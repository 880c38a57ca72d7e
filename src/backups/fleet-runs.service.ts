import { Injectable } from '@nestjs/common';
import pLimit from 'p-limit';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import { AuditRecorder } from '../audit/audit-recorder.js';
import { deniedRun, type RunCaller } from '../audit/run-caller.js';
import type { Principal } from '../auth/principal.js';
import { mayUseAppliance } from '../auth/scopes.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';
import { problemBody } from '../problems/problem-body.js';
import { BackupsService } from './backups.service.js';
import type { FleetRunDto, FleetRunDto207, FleetRunResultDto } from './dto/fleet-run.dto.js';

/**
 * A schedule run across many appliances: each authorized one is called, `fleet.concurrency` at a
 * time and each under its own timeout (and circuit breaker), so the whole takes about
 * ceil(n / concurrency) calls' time and a dead vCenter costs only its own slot.
 */
@Injectable()
export class FleetRunsService {
  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly backups: BackupsService,
    private readonly config: GatewayConfig,
    private readonly audit: AuditRecorder,
  ) {}

  /** One audit pair per authorized appliance (a denial entry per forbidden one), all naming this fleet request. */
  async run(request: FleetRunDto, principal: Principal, caller: RunCaller, instance: string): Promise<FleetRunDto207> {
    const { requestId } = caller;
    const targets = this.select(request);
    const limit = pLimit(this.config.fleet.concurrency);
    const results = await Promise.all(
      targets.map((appliance) => {
        const runId = `${requestId}.${appliance}`;
        const runCaller = { ...caller, requestId: runId };
        const run = { appliance, schedule: request.schedule, comment: request.comment, fleetRequestId: requestId };
        const failed = (error: GatewayError): FleetRunResultDto => ({
          appliance,
          status: error.status,
          problem: problemBody(error, instance, runId),
        });
        if (!mayUseAppliance(principal, 'backups:run', appliance)) {
          // Nothing is sent to appliances the caller may not use.
          const forbidden = new GatewayError('FORBIDDEN', `This needs scope backups:run or backups:run:${appliance}.`, {
            appliance,
          });
          return this.audit.denied(deniedRun(runCaller, run)).then(() => failed(forbidden));
        }
        return limit(async (): Promise<FleetRunResultDto> => {
          try {
            const accepted = await this.backups.run(run, runCaller);
            return { appliance, status: 202, job: accepted.job };
          } catch (error) {
            if (error instanceof GatewayError) return failed(error);
            throw error;
          }
        });
      }),
    );
    return { schedule: request.schedule, requestId, results };
  }

  private select(request: FleetRunDto): string[] {
    if (request.appliances !== undefined && request.tags !== undefined) {
      throw new GatewayError('VALIDATION_FAILED', 'Select appliances by `appliances` or by `tags`, not both.', {
        errors: [{ field: 'tags', message: 'tags cannot be combined with appliances' }],
      });
    }
    if (request.appliances !== undefined) return [...new Set(request.appliances)];
    const tags = new Set(request.tags);
    const selected = this.registry
      .all()
      .filter((client) => client.config.tags.some((tag) => tags.has(tag)))
      .map((client) => client.id);
    if (selected.length === 0) {
      throw new GatewayError(
        'VALIDATION_FAILED',
        `No configured appliance has any of the tags ${[...tags].join(', ')}.`,
        {
          errors: [{ field: 'tags', message: 'no configured appliance has any of these tags' }],
        },
      );
    }
    return selected;
  }
}
