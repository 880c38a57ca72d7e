import { Injectable } from '@nestjs/common';
import pLimit from 'p-limit';
import { Observable } from 'rxjs';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { JobDto } from './dto/job.dto.js';
import { toJob } from './job-mapper.js';
import { isTerminal } from './job-states.js';
import { JobTracker } from './job-tracker.service.js';

export interface JobEvent {
  type: 'progress' | 'end' | 'error';
  data: unknown;
}

/** Following backup jobs: every read goes through the shared JobTracker, so a crowd costs one poll per interval. */
@Injectable()
export class JobsService {
  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly tracker: JobTracker,
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics,
  ) {}

  async job(appliance: string, jobId: string): Promise<JobDto> {
    return toJob(await this.tracker.status(appliance, jobId));
  }

  /** Job ids are timestamp-based (`20230505-130519-17694360`), so sorting them sorts by start time. */
  async recent(appliance: string, limit: number): Promise<JobDto[]> {
    const ids = await this.registry.client(appliance).listJobs();
    const newest = [...ids].sort().reverse().slice(0, limit);
    const read = pLimit(4);
    const statuses = await Promise.all(newest.map((id) => read(() => this.tracker.status(appliance, id))));
    return statuses.map(toJob);
  }

  /**
   * Server-Sent Events for one job: `progress` whenever state or progress changes, `end` when it finishes,
   * `error` (with the problem code) when it cannot be read.
   */
  events(appliance: string, jobId: string): Observable<JobEvent> {
    this.registry.client(appliance); // 404 before the stream starts
    return new Observable<JobEvent>((subscriber) => {
      this.metrics.watchers.inc();
      let last = '';
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      const poll = async () => {
        try {
          const status = await this.tracker.status(appliance, jobId);
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
        this.metrics.watchers.dec();
        stopped = true;
        if (timer) clearTimeout(timer);
      };
    });
  }
}
