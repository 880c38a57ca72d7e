import { Injectable } from '@nestjs/common';
import pLimit from 'p-limit';
import { Observable } from 'rxjs';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import type { VapiJobStatus } from '../appliances/vapi-client.js';
import type { AuditCompletedInput } from '../audit/audit-entry.js';
import { AuditRecorder } from '../audit/audit-recorder.js';
import { type RunCaller, type RunRequest, runEntry } from '../audit/run-caller.js';
import { runFailure } from '../audit/run-outcome.js';
import { GatewayConfig } from '../config/gateway-config.js';
import type { JobListDto, JobStatusDto, RunAcceptedDto } from './dto/job.dto.js';
import type { ScheduleListDto } from './dto/schedule.dto.js';
import { toJob } from './job-mapper.js';
import { isTerminal, JobTracker } from './job-tracker.service.js';
import { toSchedule } from './schedule-mapper.js';

export interface JobEvent {
  type: 'progress' | 'end' | 'error';
  data: unknown;
}

@Injectable()
export class BackupsService {
  constructor(
    private readonly appliances: ApplianceRegistry,
    private readonly tracker: JobTracker,
    private readonly config: GatewayConfig,
    private readonly audit: AuditRecorder,
  ) {}

  /**
   * Runs a schedule between two audit entries: `requested` is durable before anything is sent (or the run is
   * refused with AUDIT_UNAVAILABLE), `completed` is written before the caller hears the outcome.
   */
  async run(run: RunRequest, caller: RunCaller): Promise<RunAcceptedDto> {
    const { appliance, schedule, comment } = run;
    const entry = runEntry(caller, run);
    const started = performance.now();
    // Completions name their requested entry by id: a caller's request id need not be unique among runs in flight.
    const requestedId = await this.audit.requested(entry);
    const complete = (result: Pick<AuditCompletedInput, 'outcome' | 'httpStatus' | 'code' | 'jobId'>) =>
      this.audit.completed({
        ...entry,
        ...result,
        durationMs: Math.round(performance.now() - started),
        requestedId,
      });
    let status: VapiJobStatus;
    try {
      status = await this.appliances.client(appliance).runSchedule(schedule, comment, caller.requestId);
    } catch (error) {
      await complete(runFailure(error));
      throw error;
    }
    this.tracker.seed(appliance, status);
    await complete({ outcome: 'accepted', httpStatus: 202, jobId: status.id });
    return { appliance, schedule, job: toJob(status), requestId: caller.requestId };
  }

  async job(appliance: string, jobId: string, requestId: string): Promise<JobStatusDto> {
    const status = await this.tracker.status(appliance, jobId, requestId);
    return { appliance, job: toJob(status), requestId };
  }

  /** Job ids are timestamp-based (`20230505-130519-17694360`), so sorting them sorts by start time. */
  async jobs(appliance: string, limit: number, requestId: string): Promise<JobListDto> {
    const ids = await this.appliances.client(appliance).listJobs(requestId);
    const newest = [...ids].sort().reverse().slice(0, limit);
    const read = pLimit(4);
    const statuses = await Promise.all(newest.map((id) => read(() => this.tracker.status(appliance, id, requestId))));
    return { appliance, items: statuses.map(toJob) };
  }

  async schedules(appliance: string, requestId: string): Promise<ScheduleListDto> {
    const schedules = await this.appliances.client(appliance).listSchedules(requestId);
    const items = Object.entries(schedules).map(([id, info]) => toSchedule(id, info ?? {}));
    return { appliance, items };
  }

  /**
   * Server-Sent Events for one job: `progress` whenever state or progress changes, `end` when it
   * finishes. Every subscriber reads through the JobTracker, so a crowd costs one poll per interval.
   */
  events(appliance: string, jobId: string, requestId: string): Observable<JobEvent> {
    this.appliances.client(appliance); // 404 before the stream starts
    return new Observable<JobEvent>((subscriber) => {
      let last = '';
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      const poll = async () => {
        try {
          const status: VapiJobStatus = await this.tracker.status(appliance, jobId, requestId);
          if (stopped) return;
          const job = toJob(status);
          const signature = `${job.state}/${job.progress}`;
          if (signature !== last) {
            last = signature;
            subscriber.next({ type: 'progress', data: { appliance, job } });
          }
          if (isTerminal(status)) {
            subscriber.next({ type: 'end', data: { appliance, job } });
            subscriber.complete();
            return;
          }
        } catch (error) {
          subscriber.next({
            type: 'error',
            data: { appliance, code: (error as { code?: string }).code ?? 'INTERNAL_ERROR' },
          });
          subscriber.complete();
          return;
        }
        timer = setTimeout(poll, this.config.jobs.pollIntervalMs);
      };
      void poll();
      return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
      };
    });
  }
}
