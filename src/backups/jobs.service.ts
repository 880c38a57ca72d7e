import { Injectable } from '@nestjs/common';
import pLimit from 'p-limit';
import type { Observable } from 'rxjs';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import type { JobDto } from './dto/job.dto.js';
import { toJob } from './job-mapper.js';
import { isTerminal } from './job-states.js';
import { JobTracker } from './job-tracker.service.js';
import { type PolledEvent, PolledEvents, type PolledState } from './polled-events.js';

/** Following backup jobs: every read goes through the shared JobTracker, so a crowd costs one poll per interval. */
@Injectable()
export class JobsService {
  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly tracker: JobTracker,
    private readonly polled: PolledEvents,
  ) {}

  async job(appliance: string, jobId: string): Promise<JobDto> {
    return toJob(await this.tracker.status(appliance, jobId));
  }

  /**
   * Job ids are timestamp-based (`20230505-130519-17694360`), so sorting them sorts by start time. The list is this
   * request's own read (the appliance hears its id); each job's status is the shared one.
   */
  async recent(appliance: string, limit: number, requestId: string): Promise<JobDto[]> {
    const ids = await this.registry.client(appliance).listJobs(requestId);
    const newest = [...ids].sort().reverse().slice(0, limit);
    const read = pLimit(4);
    const statuses = await Promise.all(newest.map((id) => read(() => this.tracker.status(appliance, id))));
    return statuses.map(toJob);
  }

  /**
   * Server-Sent Events for one job: `progress` whenever state or progress changes, `end` when it finishes,
   * `error` (with the problem code) when it cannot be read.
   */
  events(appliance: string, jobId: string): Observable<PolledEvent> {
    this.registry.client(appliance); // 404 before the stream starts
    const read = async (): Promise<PolledState> => {
      const status = await this.tracker.status(appliance, jobId);
      const job = toJob(status);
      return { data: { appliance, job }, signature: `${job.state}/${job.progress}`, ended: isTerminal(status) };
    };
    return this.polled.follow(`job ${appliance} ${jobId}`, read, { appliance });
  }
}
