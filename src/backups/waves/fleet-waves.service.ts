import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import { type FleetMemberRecord, type FleetRunRecord, FleetRunRecords, isActive } from '../../audit/fleet-runs.js';
import { auditActor } from '../../audit/run-entries.js';
import type { Principal } from '../../auth/principal.js';
import { GatewayConfig } from '../../config/gateway-config.js';
import type { CallOrigin } from '../../context/call-origin.js';
import { PINO_LOGGER } from '../../logging/logger.js';
import { Notifications } from '../../notifications/notifications.service.js';
import { GatewayError } from '../../problems/gateway-error.js';
import { problemDocument } from '../../problems/problem-document.js';
import { isTerminal } from '../job-states.js';
import { JobTracker } from '../job-tracker.service.js';
import type { RunResult } from '../runs/run-answers.js';
import { type MemberGate, type RunRequest, RunsService } from '../runs/runs.service.js';
import { BackupTargets, UNKNOWN_TARGET } from './backup-targets.js';
import { fleetRunView } from './fleet-run-view.js';
import { FollowTimes } from './follow-pace.js';

/** Fleet runs one tick takes over at most (lapsed, or let go by a replica that stopped); its own are always renewed. */
const CLAIM_LIMIT = 100;

/** A fleet run's members as the 207 path passes them through the per-target limit; closed after the answer. */
export interface SyncGate extends MemberGate {
  close(): void;
}

/**
 * Fleet runs in waves: at most `fleet.perTargetConcurrency` backups this gateway started run at once on one backup
 * target. Every `jobs.pollIntervalMs` this process claims the fleet runs it holds (renewing its lease) or whose holder
 * died (its lease passed: after a restart, the same file's runs are resumed), and advances each: follows its running
 * members' jobs through the JobTracker until they end (which makes room on their target; each asked as often as
 * follow-pace.ts says, less often the longer it runs), and starts queued members
 * of a queued run (`Prefer: respond-async`) while their target has room, `fleet.concurrency` sends at a time. Each
 * start is a run like any other (RunsService: audited, fail-closed), under the request id `{requestId}.{applianceId}`
 * and naming the fleet run's id. A 207 request's members pass the same limit (`gate`): a member whose target is full
 * is refused TARGET_BUSY, and those that start are followed like the others until their jobs end.
 */
@Injectable()
export class FleetWaves implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  /** This process, as the holder of the fleet runs it claims. */
  private readonly owner = `${randomUUID()}`;
  private readonly starts: LimitFunction;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private stopped = false;
  /** Runs being advanced now, and those to advance once more when that is done (something changed meanwhile). */
  private readonly advancing = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  /** Members this process is sending right now (`{runId} {appliance}`): any other `starting` member was orphaned. */
  private readonly starting = new Set<string>();
  /** 207 requests under way: their runs are not finished while members may still enter. */
  private readonly open = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  /** When each running member of a run this process holds is next asked for its job. */
  private readonly follows: FollowTimes;

  constructor(
    private readonly records: FleetRunRecords,
    private readonly runs: RunsService,
    private readonly targets: BackupTargets,
    private readonly tracker: JobTracker,
    private readonly config: GatewayConfig,
    private readonly notifications: Notifications,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    this.starts = pLimit(config.fleet.concurrency);
    this.follows = new FollowTimes(config.jobs.pollIntervalMs);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.jobs.pollIntervalMs);
    this.timer.unref();
    void this.tick();
  }

  /** No new start; the sends under way are answered and recorded; then the runs are let go for another to resume. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled([...this.advancing.values()]);
    await this.records.releaseFleetRuns(this.owner).catch(() => undefined);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * A queued fleet run (`Prefer: respond-async`) of `members`: the caller's budget is spent and refusals audited now
   * (RunsService.admitQueued), each member's target read, and the run stored; its first wave starts at once.
   */
  async queue(
    principal: Principal,
    origin: CallOrigin,
    request: RunRequest,
    members: string[],
  ): Promise<FleetRunRecord> {
    const { allowed, refused } = await this.runs.admitQueued(principal, origin, request, members);
    const targets = await this.targets.ofEach(allowed, request.schedule, this.config.fleet.concurrency);
    const id = randomUUID();
    const instance = `/backups/runs/${id}`;
    const refusals = new Map(refused.map((result) => [result.appliance, result]));
    const run = await this.records.createFleetRun(
      {
        id,
        mode: 'async',
        caller: principal.caller,
        actor: auditActor(principal, origin),
        requestId: origin.requestId,
        schedule: request.schedule,
        comment: request.comment,
        members: members.map((appliance) => {
          const refusal = refusals.get(appliance);
          if (!refusal) return { appliance, target: targets.get(appliance) ?? UNKNOWN_TARGET, state: 'queued' };
          const problem = problemDocument(refusal.error, instance, refusal.requestId);
          return { appliance, target: UNKNOWN_TARGET, state: 'failed', error: JSON.stringify(problem) };
        }),
      },
      this.owner,
      this.config.fleet.leaseMs,
    );
    void this.advance(id);
    return run;
  }

  /**
   * The per-target limit for a 207 request's members. Its fleet run (kept only to count and follow them) is stored
   * when the first member enters; a member enters `starting` if its target has room, else it is refused TARGET_BUSY.
   */
  gate(principal: Principal, origin: CallOrigin, request: RunRequest): SyncGate {
    const id = randomUUID();
    let created: Promise<unknown> | undefined;
    const create = () => {
      created ??= this.records.createFleetRun(
        {
          id,
          mode: 'sync',
          caller: principal.caller,
          actor: auditActor(principal, origin),
          requestId: origin.requestId,
          schedule: request.schedule,
          comment: request.comment,
          members: [],
        },
        this.owner,
        this.config.fleet.leaseMs,
      );
      return created;
    };
    this.open.add(id);
    const perTarget = this.config.fleet.perTargetConcurrency;
    return {
      // Each member's target is read ahead, as many at a time as members run: read in the member's own turn, it cost
      // a first run of a fleet one more appliance round trip per member, twice the ideal (bench/README.md,
      // fleetSize). `enter` then finds the reading under way or done (BackupTargets keeps it); `of` never rejects.
      prepare: (appliances) => void this.targets.ofEach(appliances, request.schedule, this.config.fleet.concurrency),
      enter: async (appliance) => {
        const target = await this.targets.of(appliance, request.schedule);
        const slot = slotOf(id, appliance);
        this.starting.add(slot);
        try {
          await create();
          if (await this.records.enterFleetMember(id, { appliance, target }, perTarget)) return undefined;
        } catch (error) {
          this.starting.delete(slot);
          // The store holding the targets' slots is down: nothing is sent (fail closed), as the audit trail would.
          return { error: unavailable(error), audited: false };
        }
        this.starting.delete(slot);
        return { error: targetBusy(target, appliance, perTarget), audited: true };
      },
      leave: async (appliance, result) => {
        try {
          await this.settle(id, appliance, result);
        } catch (error) {
          // The caller still gets the run's answer; the member stays `starting` and is settled as orphaned later.
          this.logger.warn({ err: error, fleetRunId: id, appliance }, 'fleet run: could not record a member result');
        } finally {
          this.starting.delete(slotOf(id, appliance));
        }
      },
      close: () => {
        this.open.delete(id);
        if (created) void this.advance(id);
      },
    };
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const ids = await this.records.claimFleetRuns(this.owner, this.config.fleet.leaseMs, CLAIM_LIMIT);
      // Every run this process holds is claimed again here: the follow times of any other (ended, or taken over by
      // another replica) are forgotten.
      this.follows.keepOnly(ids);
      // Not awaited: a long step (members followed on slow appliances) must not hold back the next tick, whose claim
      // renews the lease of every run this process holds. advance() runs one step of a run at a time and logs its
      // failures; shutdown waits for the steps under way.
      for (const id of ids) void this.advance(id);
    } catch (error) {
      // The store is down (readiness says so) or closing: the next tick tries again.
      this.logger.debug({ err: error }, 'fleet runs: could not claim runs this time');
    } finally {
      this.ticking = false;
    }
  }

  /** One advance of a run at a time in this process; a change meanwhile asks for one more. */
  private advance(id: string): Promise<void> {
    const under = this.advancing.get(id);
    if (under) {
      this.again.add(id);
      return under;
    }
    const work = (async () => {
      do {
        this.again.delete(id);
        await this.step(id);
      } while (this.again.has(id) && !this.stopped);
    })()
      .catch((error: unknown) => this.logger.warn({ err: error, fleetRunId: id }, 'fleet run: could not advance it'))
      .finally(() => this.advancing.delete(id));
    this.advancing.set(id, work);
    return work;
  }

  private async step(id: string): Promise<void> {
    const run = await this.records.getFleetRun(id);
    if (!run || run.endedAt !== undefined) {
      this.follows.forget(id);
      return;
    }
    for (const member of run.members) {
      if (member.state === 'starting' && !this.starting.has(slotOf(id, member.appliance))) {
        await this.orphaned(run, member);
      }
    }
    const limit = pLimit(this.config.fleet.concurrency);
    const now = Date.now();
    await Promise.all(
      run.members
        .filter(
          (member) =>
            member.state === 'running' &&
            member.jobId !== undefined &&
            this.follows.due(id, member.appliance, member.startedAt, now),
        )
        .map((member) => limit(() => this.follow(run, member))),
    );
    if (run.mode === 'async' && run.state === 'running' && !this.stopped) {
      if (run.members.some((member) => member.state === 'queued')) {
        const perTarget = this.config.fleet.perTargetConcurrency;
        for (const { appliance } of await this.records.reserveFleetMembers(id, this.owner, perTarget)) {
          this.start(run, appliance);
        }
      }
    }
    // Queued members leave the queue only through this step's reservation or a cancel: a run that had some cannot
    // have ended in this step, and is not read a second time (a queue of thousands would be, every interval).
    if (!this.open.has(id) && !run.members.some((member) => member.state === 'queued')) await this.finish(id);
  }

  /**
   * Ends a run none of whose members is active any more, with `com.backupgateway.fleet-run.completed` written in the
   * same transaction (read from the run as it ends: members in a final state change no more, and a cancel in between
   * makes the store end nothing, for the next step to read again). True for the one call that ended it, in whichever
   * process.
   */
  private async finish(id: string): Promise<void> {
    const run = await this.records.getFleetRun(id);
    if (!run || run.endedAt !== undefined || run.members.some((member) => isActive(member.state))) return;
    const { requestId, members } = fleetRunView(run);
    const { subject, name, clientId, authMethod } = run.actor;
    const messages = this.notifications.fleetRunCompleted({
      id,
      schedule: run.schedule,
      actor: { subject, name: name ?? null, clientId: clientId ?? null, authMethod },
      data: {
        // As the run reads once ended (its view says `running` until then).
        state: run.state === 'cancelled' ? 'cancelled' : 'completed',
        requestId,
        members: members.map(({ appliance, target, state, jobId }) => ({ appliance, target, state, jobId })),
      },
    });
    if ((await this.records.finishFleetRun(id, { state: run.state, messages })) && messages.length > 0) {
      this.notifications.written();
    }
  }

  /** A member left `starting` by a process that died while sending it: the backup may have started. */
  private async orphaned(run: FleetRunRecord, member: FleetMemberRecord): Promise<void> {
    const error = new GatewayError(
      'INTERNAL_ERROR',
      `The gateway stopped while starting the backup on ${member.appliance}; it may have started: look at the appliance's jobs.`,
      { appliance: member.appliance, mayHaveStarted: true },
    );
    const problem = problemDocument(error, `/backups/runs/${run.id}`, `${run.requestId}.${member.appliance}`);
    await this.records.updateFleetMember(run.id, member.appliance, {
      state: 'unknown',
      from: ['starting'],
      error: JSON.stringify(problem),
      ended: true,
    });
  }

  /**
   * A running member's job, when FollowTimes says it is due, through the JobTracker: a watcher of the job reads it
   * there every interval, and the end it saw is what this reads, from memory. Its end makes room.
   */
  private async follow(run: FleetRunRecord, member: FleetMemberRecord): Promise<void> {
    const jobId = member.jobId as string;
    let ended: 'succeeded' | 'failed' | 'unknown';
    let error: GatewayError | undefined;
    try {
      const status = await this.tracker.status(member.appliance, jobId);
      if (!isTerminal(status)) return;
      ended = status.state === 'SUCCEEDED' ? 'succeeded' : 'failed';
    } catch (failure) {
      // The job or the appliance is gone (a reload removed it): its end will never be known.
      if (!(failure instanceof GatewayError) || !['JOB_NOT_FOUND', 'APPLIANCE_NOT_FOUND'].includes(failure.code))
        return;
      ended = 'unknown';
      error = failure;
    }
    const problem = error && problemDocument(error, `/backups/runs/${run.id}`, `${run.requestId}.${member.appliance}`);
    const changed = await this.records.updateFleetMember(run.id, member.appliance, {
      state: ended,
      from: ['running'],
      ...(problem && { error: JSON.stringify(problem) }),
      ended: true,
    });
    if (changed) this.again.add(run.id);
  }

  /** A reserved member's run, sent in the background (`fleet.concurrency` at a time in this process). */
  private start(run: FleetRunRecord, appliance: string): void {
    const slot = slotOf(run.id, appliance);
    this.starting.add(slot);
    const request = { schedule: run.schedule, comment: run.comment };
    const work = this.starts(async () => {
      let result: RunResult;
      try {
        result = await this.runs.startMember(
          this.runs.memberEntry(run.actor, run.requestId, appliance, request, run.id),
        );
      } catch (error) {
        this.logger.error({ err: error, fleetRunId: run.id, appliance }, 'fleet run: a member run failed unexpectedly');
        result = { appliance, requestId: `${run.requestId}.${appliance}`, entryId: '', error: mayHaveStarted() };
      }
      await this.settle(run.id, appliance, result);
    })
      .catch((error: unknown) =>
        this.logger.warn({ err: error, fleetRunId: run.id, appliance }, 'fleet run: lost a result'),
      )
      .finally(() => {
        this.starting.delete(slot);
        this.inFlight.delete(work);
        void this.advance(run.id);
      });
    this.inFlight.add(work);
  }

  /** A member's run answered: its job runs (and holds the slot until it ends), or it failed and frees the slot. */
  private async settle(id: string, appliance: string, result: RunResult): Promise<void> {
    if ('job' in result) {
      await this.records.updateFleetMember(id, appliance, {
        state: 'running',
        from: ['starting'],
        jobId: result.job.id,
      });
      return;
    }
    if (!('error' in result)) return;
    const { error } = result;
    await this.records.updateFleetMember(id, appliance, {
      state: error.details.mayHaveStarted ? 'unknown' : 'failed',
      from: ['starting'],
      error: JSON.stringify(problemDocument(error, `/backups/runs/${id}`, result.requestId)),
      ended: true,
    });
  }
}

function slotOf(id: string, appliance: string): string {
  return `${id} ${appliance}`;
}

export function targetBusy(target: string, appliance: string, perTarget: number): GatewayError {
  return new GatewayError(
    'TARGET_BUSY',
    `Backup target ${target} already runs ${perTarget} backups started by this gateway (fleet.perTargetConcurrency); ` +
      `nothing was sent to ${appliance}. Send the request with the header Prefer: respond-async to queue it instead.`,
    { appliance, target },
  );
}

function unavailable(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError('AUDIT_UNAVAILABLE', 'The audit store holding fleet runs is unavailable; nothing was sent.', {
    retryAfter: 30,
    cause: error,
  });
}

function mayHaveStarted(): GatewayError {
  return new GatewayError('INTERNAL_ERROR', 'The run failed inside the gateway; the backup may have started.', {
    mayHaveStarted: true,
  });
}
