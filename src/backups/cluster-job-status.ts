import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import type { VapiJobStatus } from '../appliances/vapi-client.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { RedisConnection } from '../redis/redis-connection.js';
import { isTerminal } from './job-states.js';

/** A finished job never changes: every replica may keep its status this long. */
const TERMINAL_TTL_MS = 60 * 60_000;
/** The last status known, served while another replica fetches the next one. */
const LAST_TTL_MS = 10 * 60_000;
const WAIT_STEP_MS = 20;

/**
 * Cluster-wide job polling: with `redis.url`, replicas share one poller per running job. The status of a job is a
 * Redis key that lives one poll interval (or an hour once the job ended); whoever finds it gone takes a short lease
 * (SET NX, as long as the appliance may take to answer) and is the one replica that asks the appliance, then writes
 * the status for every other replica to read; the others meanwhile serve the last status known. So any number of
 * watchers on any number of replicas cost the appliance at most one status request per interval.
 * Without Redis, or while it is unavailable, each replica polls on its own (its JobTracker still shares one request
 * per interval among its own watchers): degraded, never down.
 */
@Injectable()
export class ClusterJobStatus {
  private warned = false;

  constructor(
    @Optional() private readonly redis?: RedisConnection,
    @Optional() private readonly config?: GatewayConfig,
    @Optional() @Inject(PINO_LOGGER) private readonly logger?: Logger,
    @Optional() private readonly registry?: ApplianceRegistry,
  ) {}

  async fetch(appliance: string, jobId: string, poll: () => Promise<VapiJobStatus>): Promise<VapiJobStatus> {
    const client = this.redis?.available ? this.redis.client : undefined;
    if (!client || !this.config) return poll();
    const key = `job:${appliance}:${jobId}`;
    try {
      const fresh = await client.get(`${key}:status`);
      if (fresh !== null) return JSON.parse(fresh) as VapiJobStatus;
      const leaseMs = this.leaseMs(appliance);
      if ((await client.set(`${key}:lease`, '1', 'PX', leaseMs, 'NX')) === 'OK') {
        try {
          const status = await poll();
          await this.publish(key, status);
          return status;
        } finally {
          await client.del(`${key}:lease`).catch(() => undefined);
        }
      }
      // Another replica is asking the appliance right now.
      const last = await client.get(`${key}:last`);
      if (last !== null) return JSON.parse(last) as VapiJobStatus;
      for (let waited = 0; waited < leaseMs; waited += WAIT_STEP_MS) {
        await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
        const arrived = await client.get(`${key}:status`);
        if (arrived !== null) return JSON.parse(arrived) as VapiJobStatus;
      }
      return poll(); // the holder died with its lease: ask ourselves
    } catch (error) {
      this.warnOnce(error);
      return poll();
    }
  }

  /** A run's answer is the job's first status: every replica's watchers start from it. */
  async seed(appliance: string, status: VapiJobStatus): Promise<void> {
    const client = this.redis?.available ? this.redis.client : undefined;
    if (!client) return;
    await this.publish(`job:${appliance}:${status.id}`, status).catch((error: unknown) => this.warnOnce(error));
  }

  private async publish(key: string, status: VapiJobStatus): Promise<void> {
    const client = this.redis?.client;
    if (!client || !this.config) return;
    const text = JSON.stringify(status);
    const ttl = isTerminal(status) ? TERMINAL_TTL_MS : this.config.jobs.pollIntervalMs;
    await client.multi().set(`${key}:status`, text, 'PX', ttl).set(`${key}:last`, text, 'PX', LAST_TTL_MS).exec();
  }

  /**
   * As long as the appliance may take to answer a status request (its timeout, as the registry holds it now: SIGHUP
   * may have changed it), at least one interval.
   */
  private leaseMs(appliance: string): number {
    const timeout = this.registry?.has(appliance) ? this.registry.client(appliance).config.timeoutMs : 10_000;
    return Math.max(timeout, this.config?.jobs.pollIntervalMs ?? 1000) + 1000;
  }

  private warnOnce(error: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.logger?.warn(
      { err: { message: (error as Error).message } },
      'job polling falls back to this replica alone while redis is unavailable',
    );
  }
}
