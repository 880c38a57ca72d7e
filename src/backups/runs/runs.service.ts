import { Inject, Injectable } from '@nestjs/common';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { ApplianceRegistry } from '../../appliances/appliance-registry.service.js';
import type { AuditRequestedInput, KeySettlementOf } from '../../audit/audit-entry.js';
import { AuditRecorder } from '../../audit/audit-recorder.js';
import { auditActor, requestedRunEntry, runEntry } from '../../audit/run-entries.js';
import { accessPolicy } from '../../auth/access-policy.js';
import type { Principal } from '../../auth/principal.js';
import { GatewayConfig } from '../../config/gateway-config.js';
import type { CallOrigin } from '../../context/call-origin.js';
import { RunBudget } from '../../limits/run-budget.service.js';
import { PINO_LOGGER } from '../../logging/logger.js';
import { GatewayMetrics } from '../../metrics/gateway-metrics.js';
import { GatewayError } from '../../problems/gateway-error.js';
import type { JobDto } from '../dto/job.dto.js';
import { toJob } from '../job-mapper.js';
import { JobTracker } from '../job-tracker.service.js';
import type { KeyHold } from './idempotent-runs.service.js';
import {
  type FleetMemberResult,
  isFinalResult,
  memberAnswer,
  type RunResult,
  singleRunAnswer,
  storedResponseOf,
} from './run-answers.js';
import { runFailure } from './run-audit.js';

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
 * What a fleet member passes before its run is sent (the per-target limit, waves/): `enter` resolves with nothing to
 * run it, or with the refusal that is its result instead (`audited`: a refusal of ours, recorded as one `completed`
 * entry; otherwise, as when the audit trail is down, nothing is recorded); `leave` hears its result.
 */
export interface MemberGate {
  /** The members that will try to enter, before any does: what the gate needs of each can be read ahead. */
  prepare(appliances: string[]): void;
  enter(appliance: string): Promise<{ error: GatewayError; audited: boolean } | undefined>;
  leave(appliance: string, result: RunResult): Promise<void>;
}

/** The Idempotency-Key a run goes under: its answers settle the key as they are recorded. */
export interface RunKey {
  hold: KeyHold;
  /** The request's path, as problem documents name it (`instance`). */
  instance: string;
}

/**
 * Running a backup schedule, the one use case that changes anything, top to bottom: admit the principal (a refusal
 * is audited: nothing is sent); for each appliance, write `requested` durably (or refuse the run: fail closed), call
 * the appliance, write `completed` before anyone hears the outcome, with the Idempotency-Key answer it records. A
 * single run is a fleet of one; a fleet runs `fleet.concurrency` appliances at a time, each under its own timeout and
 * circuit breaker, every member counted toward the caller's run budget.
 */
@Injectable()
export class RunsService {
  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly audit: AuditRecorder,
    private readonly tracker: JobTracker,
    private readonly budget: RunBudget,
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
  async admit(
    principal: Principal,
    origin: CallOrigin,
    target: { appliance: string } | 'fleet',
    request: RunRequest,
  ): Promise<void> {
    const allowed =
      target === 'fleet' ? accessPolicy.allowsAny(principal, 'backups:run') : this.allowed(principal, target.appliance);
    if (allowed) return;
    const appliance = target === 'fleet' ? '*' : target.appliance;
    const run = requestedRunEntry(principal, origin, { appliance, ...request });
    const { error } = await this.deny(run);
    throw error;
  }

  /** The members of a fleet request (see `select`). */
  members(principal: Principal, selection: FleetSelection): string[] {
    return this.select(principal, selection);
  }

  /** One admitted run. */
  async runOne(
    principal: Principal,
    origin: CallOrigin,
    appliance: string,
    request: RunRequest,
    key?: RunKey,
  ): Promise<RunResult> {
    const run = requestedRunEntry(principal, origin, { appliance, ...request });
    const settle = (result: RunResult): KeySettlementOf | undefined =>
      key && isFinalResult(result)
        ? {
            caller: key.hold.caller,
            key: key.hold.key,
            response: storedResponseOf(singleRunAnswer(request.schedule, result, key.instance)),
          }
        : undefined;
    return this.runOn(run, settle);
  }

  /**
   * An admitted fleet run over `members`; each run gets the request id `{requestId}.{applianceId}` and names the
   * fleet request. A member the principal may not run on is a 403 result and receives nothing; a member whose final
   * answer the key holds from before is replayed, not run.
   */
  async runFleet(
    principal: Principal,
    origin: CallOrigin,
    request: RunRequest,
    members: string[],
    key?: RunKey,
    gate?: MemberGate,
  ): Promise<RunResult[]> {
    // The guard counted the request as one run: every other member that runs now is a run too (a replay is not).
    const running = members.filter((appliance) => !key?.hold.members[appliance]).length;
    await this.budget.spend(principal, origin, running - 1);
    const { requestId } = origin;
    const actor = auditActor(principal, origin);
    const allowed = new Set(members.filter((appliance) => this.allowed(principal, appliance)));
    gate?.prepare(members.filter((appliance) => !key?.hold.members[appliance] && allowed.has(appliance)));
    const limit = pLimit(this.config.fleet.concurrency);
    const results = await Promise.all(
      members.map((appliance) => {
        const run = this.memberEntry(actor, requestId, appliance, request, requestId);
        const before = key?.hold.members[appliance];
        if (before) return this.replayMember(run, before);
        if (!allowed.has(appliance)) return this.deny(run);
        const settle = (result: RunResult): KeySettlementOf | undefined =>
          key && isFinalResult(result)
            ? {
                caller: key.hold.caller,
                key: key.hold.key,
                member: appliance,
                memberResult: JSON.stringify(memberAnswer(result, key.instance)),
              }
            : undefined;
        // Each appliance's run under its own request id, which the appliance receives too (runOn).
        return limit(() => this.runGated(run, settle, gate));
      }),
    );
    // A member's failure is a result, not an exception: the exception filter, which logs a single run's 5xx, never
    // sees it.
    for (const result of results) {
      if (!('error' in result) || result.error.status < 500) continue;
      const { error } = result;
      const cause = (error.cause as { code?: unknown } | undefined)?.code;
      this.logger.warn(
        { requestId: result.requestId, appliance: result.appliance, code: error.code, cause },
        error.detail,
      );
    }
    return results;
  }

  /**
   * The members of a fleet run that is queued (`Prefer: respond-async`), before any is: the caller's run budget is
   * spent for every member, and a member the caller may not run on is refused now (a 403, audited as every refusal);
   * the others may be queued. Their runs are `startMember`'s, later.
   */
  async admitQueued(
    principal: Principal,
    origin: CallOrigin,
    request: RunRequest,
    members: string[],
  ): Promise<{ allowed: string[]; refused: (RunResult & { error: GatewayError })[] }> {
    await this.budget.spend(principal, origin, members.length - 1);
    const { requestId } = origin;
    const actor = auditActor(principal, origin);
    const allowed = members.filter((appliance) => this.allowed(principal, appliance));
    const refused = await Promise.all(
      members
        .filter((appliance) => !allowed.includes(appliance))
        .map((appliance) => this.deny(this.memberEntry(actor, requestId, appliance, request, requestId))),
    );
    return { allowed, refused };
  }

  /**
   * The audit entry of a fleet member's run: its request id `{requestId}.{applianceId}`, naming the fleet (the
   * request's id, or a queued fleet run's own).
   */
  memberEntry(
    actor: AuditRequestedInput['actor'],
    requestId: string,
    appliance: string,
    request: RunRequest,
    fleetId: string,
  ): AuditRequestedInput {
    return runEntry(actor, { requestId: `${requestId}.${appliance}`, appliance, ...request, fleetRequestId: fleetId });
  }

  /**
   * A queued fleet member's run, started when its target has room (by whichever process holds its fleet run, after
   * a restart too): audited and sent as every run, under the member's request id.
   */
  startMember(run: AuditRequestedInput): Promise<RunResult> {
    return this.runOn(run, () => undefined);
  }

  /** A member's run behind the gate: refused there (nothing sent), or run and its result handed back to the gate. */
  private async runGated(
    run: AuditRequestedInput,
    settle: (result: RunResult) => KeySettlementOf | undefined,
    gate: MemberGate | undefined,
  ): Promise<RunResult> {
    if (!gate) return this.runOn(run, settle);
    // Fail closed before the gate asks the appliance anything (its backup target): with the trail unusable, runOn
    // refuses the member (AUDIT_UNAVAILABLE) and nothing at all reaches the appliance, not even a login.
    if (!(await this.audit.healthy())) return this.runOn(run, settle);
    const refused = await gate.enter(run.appliance);
    if (refused) return this.refuse(run, refused.error, refused.audited);
    let result: RunResult | undefined;
    try {
      result = await this.runOn(run, settle);
      return result;
    } finally {
      await gate.leave(run.appliance, result ?? { ...run, entryId: '', error: unexpected() });
    }
  }

  /** A member refused before anything was sent: one `completed` entry with the refusal (rejected), when `audited`. */
  private async refuse(
    run: AuditRequestedInput,
    error: GatewayError,
    audited: boolean,
  ): Promise<RunResult & { error: GatewayError }> {
    const { appliance, requestId } = run;
    if (!audited) return { appliance, requestId, entryId: '', error };
    this.count(appliance, 'rejected');
    const entryId = await this.audit.denied({
      ...run,
      outcome: 'rejected',
      httpStatus: error.status,
      code: error.code,
      durationMs: 0,
    });
    return { appliance, requestId, entryId, error };
  }

  private allowed(principal: Principal, appliance: string): boolean {
    return accessPolicy.allows(principal, 'backups:run', appliance);
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

  /** A fleet retry: the member's final answer from before, on record as a replay; nothing is sent. */
  private async replayMember(
    run: AuditRequestedInput,
    before: { result: string; entryId: string },
  ): Promise<RunResult> {
    const replayed = JSON.parse(before.result) as FleetMemberResult;
    const entryId = await this.audit.replayed({
      ...run,
      httpStatus: replayed.status,
      jobId: replayed.job?.id,
      durationMs: 0,
      replayOf: before.entryId,
    });
    return { appliance: run.appliance, requestId: run.requestId, entryId, replayed };
  }

  private async runOn(
    run: AuditRequestedInput,
    settle: (result: RunResult) => KeySettlementOf | undefined,
  ): Promise<RunResult> {
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
    // The completion never fails its caller (written, or spooled with the key's answer): the appliance has answered.
    const complete = async (
      result: RunResult,
      outcome: { outcome: 'accepted'; httpStatus: 202; jobId: string } | ReturnType<typeof runFailure>,
    ): Promise<RunResult> => {
      this.count(appliance, outcome.outcome);
      // The spreads come last, and the result is completed in place, for Node 20: its V8 gives an object that begins
      // with a spread a hidden class of its own, every time (bench/README.md, "Objects that begin with a spread").
      result.entryId = await this.audit.completed({
        durationMs: Math.round(performance.now() - started),
        requestedId,
        settles: settle(result),
        ...run,
        ...outcome,
      });
      return result;
    };
    let job: JobDto;
    try {
      // The appliance hears the run's own request id (a fleet member's `{requestId}.{applianceId}`).
      const status = await this.registry.client(appliance).runSchedule(run.schedule, run.comment, requestId);
      this.tracker.seed(appliance, status);
      job = toJob(status);
    } catch (error) {
      const failure = runFailure(error);
      const known =
        error instanceof GatewayError
          ? error
          : new GatewayError('INTERNAL_ERROR', 'The run failed inside the gateway; the backup may have started.', {
              mayHaveStarted: true,
              cause: error,
            });
      const result = await complete({ appliance, requestId, entryId: '', error: known }, failure);
      if (!(error instanceof GatewayError)) throw error;
      return result;
    }
    return complete(
      { appliance, requestId, entryId: '', job },
      { outcome: 'accepted', httpStatus: 202, jobId: job.id },
    );
  }

  /** Runs by appliance and outcome; an appliance id that is not configured is never a label value. */
  private count(appliance: string, outcome: string): void {
    this.metrics.runs.inc({ appliance: this.registry.has(appliance) ? appliance : 'not_configured', outcome });
  }

  /**
   * The members of a fleet run, at most `fleet.maxAppliances`. Named ids are the caller's own words (each is run or
   * refused). A tag selects only appliances the caller may read or run: the answer never names, or reveals the tags
   * of, any other appliance.
   */
  private select(principal: Principal, selection: FleetSelection): string[] {
    if (selection.appliances !== undefined && selection.tags !== undefined) {
      throw new GatewayError('VALIDATION_FAILED', 'Select appliances by `appliances` or by `tags`, not both.', {
        errors: [{ field: 'tags', message: 'tags cannot be combined with appliances' }],
      });
    }
    const selected =
      selection.appliances !== undefined ? [...new Set(selection.appliances)] : this.tagged(principal, selection.tags);
    const max = this.config.fleet.maxAppliances;
    if (selected.length > max) {
      throw new GatewayError(
        'VALIDATION_FAILED',
        `This selects ${selected.length} appliances; one fleet request may run at most ${max} (fleet.maxAppliances).`,
        { errors: [{ field: selection.appliances ? 'appliances' : 'tags', message: `selects more than ${max}` }] },
      );
    }
    return selected;
  }

  private tagged(principal: Principal, tags: string[] = []): string[] {
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

/** What a gate hears when the run threw (a bug of ours after sending): the backup may have started. */
function unexpected(): GatewayError {
  return new GatewayError('INTERNAL_ERROR', 'The run failed inside the gateway; the backup may have started.', {
    mayHaveStarted: true,
  });
}
