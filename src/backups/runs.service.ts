import { Inject, Injectable } from '@nestjs/common';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import type { AuditRequestedInput } from '../audit/audit-entry.js';
import { AuditRecorder } from '../audit/audit-recorder.js';
import { accessPolicy } from '../auth/access-policy.js';
import type { Principal } from '../auth/principal.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { requestContext } from '../context/request-context.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { GatewayError } from '../problems/gateway-error.js';
import type { JobDto } from './dto/job.dto.js';
import { toJob } from './job-mapper.js';
import { JobTracker } from './job-tracker.service.js';
import { auditActor, runEntry, runFailure } from './run-audit.js';

export interface RunRequest {
  schedule: string;
  comment?: string;
}

/** A fleet run selects appliances by id or by tag (appliances with any of them), not both. */
export interface FleetSelection {
  appliances?: string[];
  tags?: string[];
}

/**
 * One appliance's run: the job it started, or the problem the single run would have answered; and the audit entry
 * that recorded the answer (a replay of it names that entry).
 */
export type RunResult = { appliance: string; requestId: string; entryId: string } & (
  | { job: JobDto }
  | { error: GatewayError }
);

/**
 * Running a backup schedule, the one use case that changes anything, top to bottom: for each appliance,
 * authorise the principal (a refusal is audited: nothing is sent), write `requested` durably (or refuse the run:
 * fail closed), call the appliance, write `completed` before anyone hears the outcome. A single run is a fleet of
 * one; a fleet runs `fleet.concurrency` appliances at a time, each under its own timeout and circuit breaker.
 */
@Injectable()
export class RunsService {
  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly audit: AuditRecorder,
    private readonly tracker: JobTracker,
    private readonly config: GatewayConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** The appliance a single run addresses: the one named, else `defaultAppliance`, else the only one configured. */
  target(appliance?: string): string {
    return this.registry.resolve(appliance);
  }

  /**
   * Whether the principal may ask for this run at all, decided before anything else reads the request (an
   * Idempotency-Key's stored answer included): a single run needs the run scope for its appliance, a fleet run some
   * run scope. A refusal is audited (nothing is sent) and thrown as 403.
   */
  async admit(principal: Principal, target: { appliance: string } | 'fleet', request: RunRequest): Promise<void> {
    if (
      target === 'fleet' ? accessPolicy.allowsAny(principal, 'backups:run') : this.allowed(principal, target.appliance)
    ) {
      return;
    }
    const appliance = target === 'fleet' ? '*' : target.appliance;
    const requestId = requestContext.requestId() ?? 'unknown';
    const run = runEntry(auditActor(principal), { requestId, appliance, ...request });
    const { error } = await this.deny(run);
    throw error;
  }

  /** One admitted run (admit first). */
  async runOne(principal: Principal, appliance: string, request: RunRequest): Promise<RunResult> {
    const [result] = await this.run(principal, request, [appliance], false);
    return result;
  }

  /**
   * Many appliances (admit first); each run gets the request id `{requestId}.{applianceId}` and names the fleet
   * request. A member the principal may not run on is a 403 result and receives nothing.
   */
  async runFleet(principal: Principal, request: RunRequest, selection: FleetSelection): Promise<RunResult[]> {
    return this.run(principal, request, this.select(principal, selection), true);
  }

  private allowed(principal: Principal, appliance: string): boolean {
    return accessPolicy.allows(principal, 'backups:run', appliance);
  }

  private async run(
    principal: Principal,
    request: RunRequest,
    appliances: string[],
    fleet: boolean,
  ): Promise<RunResult[]> {
    const requestId = requestContext.requestId() ?? 'unknown';
    const actor = auditActor(principal);
    const entry = (appliance: string): AuditRequestedInput =>
      runEntry(actor, {
        requestId: fleet ? `${requestId}.${appliance}` : requestId,
        appliance,
        schedule: request.schedule,
        comment: request.comment,
        fleetRequestId: fleet ? requestId : undefined,
      });
    if (!fleet) return [await this.runOn(entry(appliances[0]))];
    const limit = pLimit(this.config.fleet.concurrency);
    return Promise.all(
      appliances.map((appliance) => {
        const run = entry(appliance);
        if (!this.allowed(principal, appliance)) return this.deny(run);
        // Each appliance's run under its own request id, which the appliance receives too.
        return limit(() => requestContext.withRequestId(run.requestId, () => this.runOn(run)));
      }),
    );
  }

  /** Nothing is sent to an appliance the principal may not use; the refusal is one `completed` entry. */
  private async deny(run: AuditRequestedInput): Promise<RunResult & { error: GatewayError }> {
    const whole = run.appliance === '*';
    if (!whole) this.count(run.appliance, 'denied');
    const entryId = await this.audit.denied({ ...run, httpStatus: 403, code: 'FORBIDDEN', durationMs: 0 });
    const error = whole
      ? new GatewayError('FORBIDDEN', 'This needs scope backups:run (or backups:run:{applianceId}).')
      : new GatewayError('FORBIDDEN', `This needs scope backups:run or backups:run:${run.appliance}.`, {
          appliance: run.appliance,
        });
    return { appliance: run.appliance, requestId: run.requestId, entryId, error };
  }

  private async runOn(run: AuditRequestedInput): Promise<RunResult> {
    const { appliance, requestId } = run;
    const started = performance.now();
    let requestedId: string;
    try {
      // Fail closed: without a durable `requested` entry nothing reaches the appliance (AUDIT_UNAVAILABLE).
      requestedId = await this.audit.requested(run);
    } catch (error) {
      // Refused before anything was sent: there is no entry of this attempt to name.
      if (error instanceof GatewayError) return { appliance, requestId, entryId: '', error };
      throw error;
    }
    const complete = (outcome: Parameters<typeof completion>[0]) => {
      this.count(appliance, outcome.outcome);
      return completion(outcome);
    };
    const completion = (
      outcome: { outcome: 'accepted'; httpStatus: 202; jobId: string } | ReturnType<typeof runFailure>,
    ) =>
      this.audit.completed({
        ...run,
        ...outcome,
        durationMs: Math.round(performance.now() - started),
        requestedId,
      });
    let job: JobDto;
    try {
      const status = await this.registry.client(appliance).runSchedule(run.schedule, run.comment);
      this.tracker.seed(appliance, status);
      job = toJob(status);
    } catch (error) {
      const entryId = await complete(runFailure(error));
      if (!(error instanceof GatewayError)) throw error;
      // The answer is a value now (it may be replayed), not an exception the filter would log.
      if (error.status >= 500) {
        const cause = (error.cause as { code?: unknown } | undefined)?.code;
        this.logger.warn({ requestId, appliance, code: error.code, cause }, error.detail);
      }
      return { appliance, requestId, entryId, error };
    }
    const entryId = await complete({ outcome: 'accepted', httpStatus: 202, jobId: job.id });
    return { appliance, requestId, entryId, job };
  }

  /** Runs by appliance and outcome; an appliance id that is not configured is never a label value. */
  private count(appliance: string, outcome: string): void {
    this.metrics.runs.inc({ appliance: this.registry.has(appliance) ? appliance : 'not_configured', outcome });
  }

  /**
   * The members of a fleet run. Named ids are the caller's own words (each is run or refused). A tag selects only
   * appliances the caller may read or run: the answer never names, or reveals the tags of, any other appliance.
   */
  private select(principal: Principal, selection: FleetSelection): string[] {
    if (selection.appliances !== undefined && selection.tags !== undefined) {
      throw new GatewayError('VALIDATION_FAILED', 'Select appliances by `appliances` or by `tags`, not both.', {
        errors: [{ field: 'tags', message: 'tags cannot be combined with appliances' }],
      });
    }
    if (selection.appliances !== undefined) return [...new Set(selection.appliances)];
    const tags = selection.tags ?? [];
    const selected = this.registry
      .withAnyTag(tags)
      .filter((id) => this.allowed(principal, id) || accessPolicy.allows(principal, 'backups:read', id));
    if (selected.length === 0) {
      throw new GatewayError('VALIDATION_FAILED', `No appliance you may see has any of the tags ${tags.join(', ')}.`, {
        errors: [{ field: 'tags', message: 'no appliance you may see has any of these tags' }],
      });
    }
    return selected;
  }
}
