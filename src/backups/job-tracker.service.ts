import { Injectable } from '@nestjs/common';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import { BackupFreshness } from '../appliances/backup-freshness.service.js';
import type { VapiJobStatus } from '../appliances/vapi-client.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { ClusterJobStatus } from './cluster-job-status.js';
import { isTerminal } from './job-states.js';

interface Tracked {
  status?: VapiJobStatus;
  fetchedAt: number;
  pending?: Promise<VapiJobStatus>;
}

const MAX_TRACKED = 10_000;

/**
 * One view of each job for every watcher. Concurrent requests for a job share one upstream call;
 * a status is reused for `jobs.pollIntervalMs`; a finished job is kept and never asked for again.
 * So 200 portal users on one progress bar cost the appliance one request per interval, then none; across replicas
 * sharing a Redis, ClusterJobStatus keeps it at one for all of them.
 */
@Injectable()
export class JobTracker {
  private readonly jobs = new Map<string, Tracked>();

  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly config: GatewayConfig,
    private readonly cluster: ClusterJobStatus,
    private readonly freshness: BackupFreshness,
  ) {}

  status(appliance: string, jobId: string): Promise<VapiJobStatus> {
    const key = `${appliance}\u0000${jobId}`;
    const tracked = this.jobs.get(key);
    if (
      tracked?.status &&
      (isTerminal(tracked.status) || Date.now() - tracked.fetchedAt < this.config.jobs.pollIntervalMs)
    ) {
      return Promise.resolve(tracked.status);
    }
    if (tracked?.pending) return tracked.pending;
    const client = this.registry.client(appliance);
    const entry: Tracked = tracked ?? { fetchedAt: 0 };
    // A status is as old as the question that got it: counted from the answer, a follower asking every interval
    // would find it still fresh by the appliance's round trip and be answered from memory, one interval late.
    const asked = Date.now();
    entry.pending = this.cluster
      .fetch(appliance, jobId, () => client.getJob(jobId))
      .then((status) => {
        this.freshness.observed(appliance, status);
        entry.status = status;
        entry.fetchedAt = asked;
        return status;
      })
      .finally(() => {
        entry.pending = undefined;
      });
    this.remember(key, entry);
    return entry.pending;
  }

  /** A run's answer is the job's first status: watchers that follow the Location start from it. */
  seed(appliance: string, status: VapiJobStatus): void {
    this.remember(`${appliance}\u0000${status.id}`, { status, fetchedAt: Date.now() });
    void this.cluster.seed(appliance, status);
  }

  private remember(key: string, entry: Tracked): void {
    if (!this.jobs.has(key) && this.jobs.size >= MAX_TRACKED) {
      // Oldest first (Map keeps insertion order); finished jobs are cheap to ask for again.
      const oldest = this.jobs.keys().next().value;
      if (oldest !== undefined) this.jobs.delete(oldest);
    }
    this.jobs.set(key, entry);
  }
}
