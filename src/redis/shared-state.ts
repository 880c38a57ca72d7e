import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { RedisStore, type SharedStore } from './shared-store.js';

/**
 * How long any Redis command may take. Redis answers in well under a millisecond on a healthy network; a Redis that
 * accepts connections but does not answer (stopped, swapping, a stuck network) costs one request this much, once,
 * before every caller falls back as for a dead one. Not tens of milliseconds: the timeout is a timer, and when the
 * event loop is busy for a moment (a burst of logins, two hundred watchers) Node runs due timers before it reads the
 * answers already waiting on the socket, so a tighter bound marked a healthy Redis stalled under load (measured: a
 * 2,000-login flood on two replicas and 200 watchers on three turned into per-replica limits and polling at 50 ms).
 */
export const REDIS_COMMAND_TIMEOUT_MS = 250;
/** While Redis is stalled, how often a PING asks whether it answers again. */
const STALL_PROBE_MS = 1000;
/** What ioredis rejects a command with when `commandTimeout` passes. */
const TIMED_OUT = 'Command timed out';

/** The Redis connection SharedState owns (undefined without `redis.url`); provided by RedisModule. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/**
 * The connection for `redis.url`, or none. ioredis is loaded only then: a gateway without Redis (one replica, the
 * demo) never pays for loading it at start-up.
 */
export async function connectRedis(config: GatewayConfig): Promise<Redis | undefined> {
  const redis = config.redis;
  if (!redis) return undefined;
  const { Redis } = await import('ioredis');
  return new Redis(redis.url, {
    keyPrefix: redis.keyPrefix,
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
  });
}

/** A shared operation that did not happen: Redis is away, stalled, or refused it. */
export class RedisUnavailable extends Error {}

/** Where the connection stands: what may degrade is sent to Redis only while it is `up`. */
type Liveness = 'connecting' | 'up' | 'down' | 'stalled';

/**
 * The state replicas share (rate limits, job polling, console sessions), and the one place that decides what
 * happens when they cannot share it. Without `redis.url` nothing is shared (`shared` false): every consumer works
 * alone, as one replica. With it, operations go to Redis (SharedStore), and Redis going away must degrade, never
 * take the gateway down: commands fail at once instead of queueing while disconnected, the client reconnects in the
 * background, and every command is bounded (REDIS_COMMAND_TIMEOUT_MS), so a Redis that stops answering without
 * closing its connections costs one command once; then a PING each second finds when it answers again.
 *
 * Consumers never ask whether Redis is up. What may degrade (rate limits, job polling) goes through `orAlone`:
 * on Redis while it is up, else the consumer's own per-replica way. What must not (console sessions: a session on
 * one replica only would sign people out at random) goes through `required`, which fails instead. Either way an
 * outage is logged here once, with one line when Redis is back, and `backup_gateway_redis_available` follows it.
 */
@Injectable()
export class SharedState implements OnApplicationShutdown {
  /** Whether replicas share state (`redis.url` is set): known at start, the same for the life of the process. */
  readonly shared: boolean;
  private readonly client: Redis | undefined;
  /** Operations for what may degrade: none is sent while Redis is away or stalled. */
  private readonly store: SharedStore | undefined;
  /** Operations for what may not: each is sent while the connection is open, even to a Redis marked stalled. */
  private readonly requiredStore: SharedStore | undefined;
  private liveness: Liveness = 'connecting';
  /** When the outage now under way began (Redis away or stalled); undefined while there is none. */
  private outageSince: number | undefined;
  /** A command refused while the connection is up has been logged: once, until Redis next comes back. */
  private refusalLogged = false;
  private probe: NodeJS.Timeout | undefined;
  /** Shutting down: the connection closing is no outage. */
  private closing = false;

  constructor(
    @Inject(REDIS_CLIENT) client: Redis | undefined,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
  ) {
    this.shared = client !== undefined;
    if (!client) return;
    this.client = client;
    this.store = new RedisStore(client, (command) => this.send(command, true));
    this.requiredStore = new RedisStore(client, (command) => this.send(command, false));
    metrics.redisAvailable.set(0);
    client.on('ready', () => this.up());
    client.on('error', (error: Error) => this.away('down', error.message));
    client.on('end', () => this.away('down', 'connection ended'));
    // The connection opened before this was built (RedisModule connects while Nest builds other providers).
    if (client.status === 'ready') this.up();
  }

  /**
   * For state that may degrade: `work` on Redis while it is up; otherwise (no Redis, Redis away or stalled, or an
   * operation of `work` failing) `alone()`, this replica's own way. Errors of `work` that are not Redis's (an
   * appliance's, for one) are not a reason to fall back: they reach the caller.
   */
  async orAlone<T>(work: (store: SharedStore) => Promise<T>, alone: () => T | Promise<T>): Promise<T> {
    if (!this.store || this.liveness !== 'up') return alone();
    try {
      return await work(this.store);
    } catch (error) {
      if (error instanceof RedisUnavailable) return alone();
      throw error;
    }
  }

  /**
   * For state that must be the same on every replica or not be at all: `work` on Redis, rejecting with
   * RedisUnavailable when it is away (at once: the client queues nothing) or does not answer in time. Each call asks
   * Redis even while it is marked stalled, as the console did before there was a mark: a timeout under load is one
   * refused request, not a second of them, and an answer ends the stall for everyone. Only where `shared`: without
   * Redis the consumer keeps its state alone from the start, and never comes here.
   */
  async required<T>(work: (store: SharedStore) => Promise<T>): Promise<T> {
    if (!this.requiredStore) throw new Error('state is not shared: redis.url is not set');
    return work(this.requiredStore);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    this.stopProbe();
    if (this.client) await this.client.quit().catch(() => this.client?.disconnect());
  }

  /**
   * The one gate of every command: how each fails says what Redis is doing. `degrading` commands are not sent unless
   * Redis is up; the others are, and one answered while Redis is marked stalled shows it answers again.
   */
  private async send<T>(command: () => Promise<T>, degrading: boolean): Promise<T> {
    if (degrading && this.liveness !== 'up') throw new RedisUnavailable(`redis is ${this.liveness}`);
    try {
      const answer = await command();
      if (this.liveness === 'stalled') this.up();
      return answer;
    } catch (error) {
      const message = (error as Error).message;
      if (message === TIMED_OUT) this.away('stalled', `does not answer within ${REDIS_COMMAND_TIMEOUT_MS} ms`);
      // The connection broke under it: an outage from now, not from the client's next reconnection attempt.
      else if (this.client?.status !== 'ready') this.away('down', message);
      // Redis answered with an error (out of memory, a read-only replica): this command falls back, the rest go on.
      else this.refused(message);
      throw new RedisUnavailable(message, { cause: error });
    }
  }

  private away(why: 'down' | 'stalled', reason: string): void {
    if (this.closing || this.liveness === 'down' || this.liveness === 'stalled') return;
    const starting = this.liveness === 'connecting';
    this.liveness = why;
    this.metrics.redisAvailable.set(0);
    if (why === 'stalled') this.startProbe();
    this.outageSince = Date.now();
    this.logOutage(why, starting ? `at start: ${reason}` : reason);
  }

  private up(): void {
    if (this.liveness === 'up') return;
    const since = this.outageSince;
    this.liveness = 'up';
    this.outageSince = undefined;
    this.refusalLogged = false;
    this.stopProbe();
    this.metrics.redisAvailable.set(1);
    this.logger.info(
      { redis: 'up', ...(since === undefined ? {} : { outageMs: Date.now() - since }) },
      'redis connected: replicas share rate limits, job polling and console sessions',
    );
  }

  private refused(reason: string): void {
    if (this.closing || this.refusalLogged) return;
    this.refusalLogged = true;
    this.logOutage('refused', reason);
  }

  /** The one line of an outage (once per outage: `away` and `refused` see to that), whatever showed it first. */
  private logOutage(why: 'down' | 'stalled' | 'refused', reason: string): void {
    this.logger.warn(
      { redis: why, err: { message: reason }, ...(why === 'stalled' ? { timeoutMs: REDIS_COMMAND_TIMEOUT_MS } : {}) },
      `redis unavailable (${reason}): rate limits and job polling fall back to this replica alone, and console sessions answer 503, until it is back`,
    );
  }

  private startProbe(): void {
    this.probe = setInterval(() => {
      this.client?.ping().then(
        () => {
          if (this.liveness === 'stalled') this.up();
        },
        () => undefined,
      );
    }, STALL_PROBE_MS);
    this.probe.unref();
  }

  private stopProbe(): void {
    clearInterval(this.probe);
    this.probe = undefined;
  }
}
