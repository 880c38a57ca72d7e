import { Injectable } from '@nestjs/common';
import { finalize, Observable, ReplaySubject, share } from 'rxjs';
import { GatewayConfig } from '../config/gateway-config.js';
import { eventWire, type StreamedEvent } from '../http/event-stream.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';

/**
 * One Server-Sent Event of a followed resource (a job, a fleet run). Every watcher of the resource is sent this one
 * object, so its wire form is made once, by the first stream that writes it. Its `id` is its place in the resource's
 * feed (1, 2, ...), the same for every watcher: one who joins late starts from the latest event's id.
 */
export class PolledEvent implements StreamedEvent {
  private encoded: string | undefined;

  constructor(
    readonly id: number,
    readonly type: 'progress' | 'end' | 'error',
    readonly data: unknown,
  ) {}

  get wire(): string {
    this.encoded ??= eventWire(this.id, this.type, this.data);
    return this.encoded;
  }
}

/** What one read of the followed resource found: its event data, what tells two reads apart, whether it has ended. */
export interface PolledState {
  data: unknown;
  signature: string;
  ended: boolean;
}

/**
 * The event stream of a resource read every `intervalMs`: `progress` whenever a read differs from the last
 * (`signature`), `end` once it has ended, `error` (`{ code, ...errorData }`) when it cannot be read.
 */
function pollingLoop(
  read: () => Promise<PolledState>,
  intervalMs: number,
  errorData: Record<string, unknown>,
): Observable<PolledEvent> {
  return new Observable<PolledEvent>((subscriber) => {
    let last = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const state = await read();
        if (stopped) return;
        if (state.signature !== last) {
          last = state.signature;
          subscriber.next(new PolledEvent(++sent, 'progress', state.data));
        }
        if (state.ended) {
          subscriber.next(new PolledEvent(++sent, 'end', state.data));
          subscriber.complete();
          return;
        }
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'INTERNAL_ERROR';
        subscriber.next(new PolledEvent(++sent, 'error', { ...errorData, code }));
        subscriber.complete();
        return;
      }
      timer = setTimeout(poll, intervalMs);
    };
    void poll();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  });
}

/**
 * The job and fleet-run event streams. Every watcher of one resource (`key`) shares one polling loop: the first
 * starts it, the last to leave stops it, and one who joins late gets the latest event at once (a replay of one). So
 * 10,000 watchers of 1,000 jobs cost 1,000 reads a poll interval, not 10,000. Each watcher is counted in
 * `backup_gateway_job_watchers` while subscribed. The reads must not depend on who watches: who may watch is decided
 * before the stream starts.
 */
@Injectable()
export class PolledEvents {
  private readonly feeds = new Map<string, Observable<PolledEvent>>();

  constructor(
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics,
  ) {}

  follow(
    key: string,
    read: () => Promise<PolledState>,
    errorData: Record<string, unknown> = {},
  ): Observable<PolledEvent> {
    let feed = this.feeds.get(key);
    if (feed === undefined) {
      const created: Observable<PolledEvent> = pollingLoop(read, this.config.jobs.pollIntervalMs, errorData).pipe(
        // The loop ended (the resource ended, or nobody watches any more): the next watcher starts a new one.
        finalize(() => {
          if (this.feeds.get(key) === created) this.feeds.delete(key);
        }),
        share({ connector: () => new ReplaySubject<PolledEvent>(1) }),
      );
      feed = created;
      this.feeds.set(key, feed);
    }
    const shared = feed;
    return new Observable<PolledEvent>((subscriber) => {
      this.metrics.watchers.inc();
      const subscription = shared.subscribe(subscriber);
      return () => {
        this.metrics.watchers.dec();
        subscription.unsubscribe();
      };
    });
  }
}
