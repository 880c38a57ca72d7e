import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import pLimit from 'p-limit';
import { GatewayConfig } from '../config/gateway-config.js';
import { ApplianceRegistry } from './appliance-registry.service.js';
import type { VapiClient } from './vapi-client.js';

/** A pass visits every appliance within this share of `fleet.statusMaxAgeMs`, leaving room for a slow probe. */
const PASS_SHARE = 0.75;
/** Tick bounds: a tick probes the appliances that came due since the last one. */
const MIN_TICK_MS = 20;
const MAX_TICK_MS = 1000;

/**
 * Keeps every appliance's status younger than `fleet.statusMaxAgeMs` without a caller waiting for it: one timer
 * walks the fleet in passes, each appliance probed once per pass at its own moment, so that the probes of a fleet of
 * thousands are spread evenly over the pass instead of all going out at once. An appliance a call reached in the
 * second half of the pass needs no probe (that call told us its state). GET /appliances then reads the status and
 * only probes what is still stale itself (the first pass starts one pass after start-up, so that a short-lived
 * gateway, and start-up, send appliances nothing they were not asked for).
 */
@Injectable()
export class FleetStatusSchedule implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private pass: VapiClient[] = [];
  private passStartedAt = 0;
  private cursor = 0;
  private readonly probing = new Set<string>();
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly config: GatewayConfig,
  ) {
    this.limit = pLimit(config.fleet.concurrency);
  }

  /** The time one pass over the fleet takes. */
  get passMs(): number {
    return Math.round(this.config.fleet.statusMaxAgeMs * PASS_SHARE);
  }

  onApplicationBootstrap(): void {
    if (!this.config.fleet.backgroundProbes) return;
    this.passStartedAt = Date.now();
    this.schedule(this.passMs);
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Probes the appliances due by now; starts a new pass (with the registry as it is now) when one is over. */
  tick(now = Date.now()): void {
    const passMs = this.passMs;
    if (this.cursor >= this.pass.length && now - this.passStartedAt >= passMs) {
      // The list is read once per pass, not per tick: a reload takes effect at the next pass.
      this.pass = this.registry.all();
      this.passStartedAt = now;
      this.cursor = 0;
    }
    const due = Math.min(this.pass.length, Math.ceil((this.pass.length * (now - this.passStartedAt + 1)) / passMs));
    for (; this.cursor < due; this.cursor++) this.probe(this.pass[this.cursor], passMs / 2, now);
  }

  private probe(client: VapiClient, freshMs: number, now: number): void {
    // Heard from recently, or still being probed (a dead appliance takes probeTimeoutMs): nothing to send.
    if (client.health.ageMs(now) < freshMs || this.probing.has(client.id)) return;
    this.probing.add(client.id);
    void this.limit(() => client.probe(this.config.fleet.probeTimeoutMs)).finally(() =>
      this.probing.delete(client.id),
    );
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.tick();
      const size = Math.max(1, this.pass.length || this.registry.size);
      this.schedule(Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, this.passMs / size)));
    }, delayMs);
    this.timer.unref();
  }
}
