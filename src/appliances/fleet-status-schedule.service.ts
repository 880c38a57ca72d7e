import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import pLimit from 'p-limit';
import { GatewayConfig } from '../config/gateway-config.js';
import { ApplianceRegistry } from './appliance-registry.service.js';
import type { VapiClient } from './vapi-client.js';

/** A pass visits every appliance within this share of `fleet.statusMaxAgeMs`, leaving room for a slow probe. */
const PASS_SHARE = 0.75;
/**
 * Tick bounds: a tick probes the appliances that came due since the last one. Ticks come at most twice a second, so
 * the probes due meanwhile go out together: one wake-up and one warm pass through the appliance client for several
 * probes costs the gateway 10–40 % less CPU than one for each, 50 ms apart (bench/README.md, "Probes in batches").
 */
const MIN_TICK_MS = 500;
const MAX_TICK_MS = 1000;

/**
 * Keeps every appliance's status younger than `fleet.statusMaxAgeMs` without a caller waiting for it: one timer
 * walks the fleet in passes, each appliance probed once per pass at its own moment (to the tick: at most two a
 * second), so that the probes of a fleet of thousands are spread evenly over the pass instead of all going out at
 * once. An appliance a call reached so recently that it will still be fresh at its next visit is not probed.
 * GET /appliances then only reads the status.
 * The first pass after start-up goes as fast as `fleet.maxProbesPerSecond` allows rather than over a whole pass, so a
 * small fleet's status is known at once; a fleet of thousands still gets its probes spread.
 */
@Injectable()
export class FleetStatusSchedule implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private pass: VapiClient[] = [];
  private passStartedAt = 0;
  /** How long the current pass spreads its probes over (shorter for the first one). */
  private spreadMs = 0;
  private passes = 0;
  private cursor = 0;
  private readonly probing = new Set<string>();
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly config: GatewayConfig,
  ) {
    this.limit = pLimit(config.fleet.concurrency);
  }

  /**
   * The time one pass over the fleet takes: ¾ of statusMaxAgeMs, or longer when that would mean more than
   * `fleet.maxProbesPerSecond` (a large fleet's status then ages up to a pass and a probe).
   */
  get passMs(): number {
    const { statusMaxAgeMs, maxProbesPerSecond } = this.config.fleet;
    const size = this.pass.length || this.registry.size;
    return Math.max(Math.round(statusMaxAgeMs * PASS_SHARE), Math.ceil((size * 1000) / maxProbesPerSecond));
  }

  onApplicationBootstrap(): void {
    if (!this.config.fleet.backgroundProbes) return;
    // The first pass starts now, spread like every other: start-up and readiness never wait for the fleet.
    this.schedule(0);
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Probes the appliances due by now; starts a new pass (with the registry as it is now) when one is over. */
  private tick(now = Date.now()): void {
    // passStartedAt 0 and an empty pass at first: the first tick starts the first pass.
    if (this.cursor >= this.pass.length && now - this.passStartedAt >= this.passMs) {
      // The list is read once per pass, not per tick: a reload takes effect at the next pass.
      this.pass = this.registry.all();
      this.passStartedAt = now;
      this.cursor = 0;
      const firstPassMs = (this.pass.length * 1000) / this.config.fleet.maxProbesPerSecond;
      this.spreadMs = this.passes++ === 0 ? Math.min(this.passMs, firstPassMs) : this.passMs;
    }
    const passMs = this.passMs;
    const due = Math.min(
      this.pass.length,
      Math.ceil((this.pass.length * (now - this.passStartedAt + 1)) / Math.max(1, this.spreadMs)),
    );
    // Skipped now, an appliance's status is at most this old + a pass + a probe's time at its next visit.
    const maxAgeMs = Math.max(this.config.fleet.statusMaxAgeMs, passMs / PASS_SHARE);
    const freshMs = maxAgeMs - passMs - this.config.fleet.probeTimeoutMs;
    for (; this.cursor < due; this.cursor++) this.probe(this.pass[this.cursor], freshMs, now);
  }

  private probe(client: VapiClient, freshMs: number, now: number): void {
    // Heard from recently, or still being probed (a dead appliance takes probeTimeoutMs): nothing to send.
    if (client.health.ageMs(now) < freshMs || this.probing.has(client.id)) return;
    this.probing.add(client.id);
    void this.limit(() => client.probe(this.config.fleet.probeTimeoutMs)).finally(() => this.probing.delete(client.id));
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.tick();
      const size = Math.max(1, this.pass.length || this.registry.size);
      const spread = this.cursor < this.pass.length ? this.spreadMs : this.passMs;
      this.schedule(Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, spread / size)));
    }, delayMs);
    this.timer.unref();
  }
}
