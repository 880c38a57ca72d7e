import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap, Optional } from '@nestjs/common';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { type FollowedJob, Outbox } from '../audit/outbox.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { Notifications } from '../notifications/notifications.service.js';
import { toJob } from './job-mapper.js';
import { isTerminal } from './job-states.js';
import { JobTracker } from './job-tracker.service.js';

const CLAIM_BATCH = 100;
const PARALLEL_POLLS = 8;

/**
 * Follows every accepted job to its end, whether or not anybody watches it, for the notifications of its end. The jobs
 * to follow are in the audit database (written with the run's `completed` entry), so a restart, or another replica,
 * follows them on. Each interval a replica claims the jobs no other holds, for one interval, and asks the JobTracker
 * for each: one status request per job per interval across the cluster, shared with any watcher of the same job (and,
 * with Redis, with every replica's watchers). A job seen ended is announced and unfollowed in one transaction.
 */
@Injectable()
export class JobFollower implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly tracker: JobTracker,
    private readonly notifications: Notifications,
    private readonly config: GatewayConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    /** Absent with `audit.store: off` (and then notifications cannot be configured). */
    @Optional() private readonly outbox?: Outbox,
  ) {}

  onApplicationBootstrap(): void {
    if (this.notifications.enabled && this.outbox) this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule(this.config.jobs.pollIntervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const outbox = this.outbox;
    if (!outbox) return;
    let jobs: FollowedJob[];
    try {
      // Held for one interval: the next claim of the same job, here or elsewhere, is the next interval's poll.
      jobs = await outbox.claimFollowedJobs(this.owner, CLAIM_BATCH, this.config.jobs.pollIntervalMs);
    } catch (error) {
      this.logger.warn({ err: error }, 'job follower: the followed jobs cannot be read now; trying again');
      return;
    }
    const limit = pLimit(PARALLEL_POLLS);
    await Promise.all(jobs.map((job) => limit(() => this.poll(job))));
  }

  private async poll(job: FollowedJob): Promise<void> {
    try {
      const status = await this.tracker.status(job.appliance, job.jobId);
      if (isTerminal(status)) await this.notifications.jobEnded(job, toJob(status));
    } catch (error) {
      // Asked again next interval (an appliance down for long enough: for 48 h at most).
      this.logger.debug({ err: error, appliance: job.appliance, jobId: job.jobId }, 'job follower: status not read');
    }
  }
}
