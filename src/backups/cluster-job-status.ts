import { Injectable } from '@nestjs/common';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import type { VapiJobStatus } from '../appliances/vapi-client.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { SharedState } from '../redis/shared-state.js';
import type { SharedStore } from '../redis/shared-store.js';
import { isTerminal } from './job-states.js';

/** A finished job never changes: every replica may keep its status this long. */
const TERMINAL_TTL_MS = 60 * 60_000;
/** The last status known, served while another replica fetches the next one. */
const LAST_TTL_MS = 10 * 60_000;
const WAIT_STEP_MS = 20;

/**
 * Cluster-wide job polling: with `redis.url`, replicas share one poller per running job. The status of a job is a
 * shared key that lives one poll interval (or an hour once the job ended); whoever finds it gone takes a short lease
 * (set if absent, as long as the appliance may take to answer) and is the one replica that asks the appliance, then
 * writes the status for every other replica to read; the others meanwhile serve the last status known. So any number
 * of watchers on any number of replicas cost the appliance at most one status request per interval.
 * Without Redis, or while it is unavailable, each replica polls on its own (SharedState.orAlone; its JobTracker still
 * shares one request per interval among its own watchers): degraded, never down.
 */
@Injectable()
export class ClusterJobStatus {
  constructor(
    private readonly state: SharedState,
    private readonly config: GatewayConfig,
    private readonly registry: ApplianceRegistry,
  ) {}

  fetch(appliance: string, jobId: string, poll: () => Promise<VapiJobStatus>): Promise<VapiJobStatus> {
    return this.state.orAlone((store) => this.fetchShared(store, `job:${appliance}:${jobId}`, appliance, poll), poll);
  }

  /** A run's answer is the job's first status: every replica's watchers start from it. */
  seed(appliance: string, status: VapiJobStatus): Promise<void> {
    return this.state.orAlone(
      (store) => this.publish(store, `job:${appliance}:${status.id}`, status, Date.now()),
      () => undefined,
    );
  }

  private async fetchShared(
    store: SharedStore,
    key: string,
    appliance: string,
    poll: () => Promise<VapiJobStatus>,
  ): Promise<VapiJobStatus> {
    const fresh = parsed(await store.get(`${key}:status`));
    if (fresh !== undefined) return fresh;
    const leaseMs = this.leaseMs(appliance);
    if (await store.setIfAbsent(`${key}:lease`, '1', leaseMs)) {
      try {
        const asked = Date.now();
        const status = await poll();
        // Redis failing now costs the other replicas this status, not this caller: it has it, and no second poll.
        await this.publish(store, key, status, asked).catch(() => undefined);
        return status;
      } finally {
        await store.delete(`${key}:lease`).catch(() => undefined);
      }
    }
    // Another replica is asking the appliance right now.
    const last = parsed(await store.get(`${key}:last`));
    if (last !== undefined) return last;
    for (let waited = 0; waited < leaseMs; waited += WAIT_STEP_MS) {
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
      const arrived = parsed(await store.get(`${key}:status`));
      if (arrived !== undefined) return arrived;
    }
    return poll(); // the holder died with its lease: ask ourselves
  }

  /** Fresh for one interval from `asked`, when the appliance was asked (as JobTracker counts its own copy). */
  private publish(store: SharedStore, key: string, status: VapiJobStatus, asked: number): Promise<void> {
    const value = JSON.stringify(status);
    const interval = this.config.jobs.pollIntervalMs;
    const ttlMs = isTerminal(status) ? TERMINAL_TTL_MS : Math.max(1, interval - (Date.now() - asked));
    return store.setAll([
      { key: `${key}:status`, value, ttlMs },
      { key: `${key}:last`, value, ttlMs: LAST_TTL_MS },
    ]);
  }

  /**
   * As long as the appliance may take to answer a status request (its timeout, as the registry holds it now: SIGHUP
   * may have changed it), at least one interval.
   */
  private leaseMs(appliance: string): number {
    const timeout = this.registry.has(appliance) ? this.registry.client(appliance).config.timeoutMs : 10_000;
    return Math.max(timeout, this.config.jobs.pollIntervalMs) + 1000;
  }
}

/** A stored status, or undefined for none or for what is not one (written by something else): asked for anew. */
function parsed(text: string | undefined): VapiJobStatus | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as VapiJobStatus;
  } catch {
    return undefined;
  }
}
