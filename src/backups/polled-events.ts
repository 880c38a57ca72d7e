import { Observable } from 'rxjs';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';

/** One Server-Sent Event of a followed resource (a job, a fleet run). */
export interface PolledEvent {
  type: 'progress' | 'end' | 'error';
  data: unknown;
}

/** What one read of the followed resource found: its event data, what tells two reads apart, whether it has ended. */
export interface PolledState {
  data: unknown;
  signature: string;
  ended: boolean;
}

/**
 * The event stream of a resource read every `intervalMs`: `progress` whenever a read differs from the last
 * (`signature`), `end` once it has ended, `error` (`{ code, ...errorData }`) when it cannot be read; each watcher
 * counted in `backup_gateway_watchers` while subscribed. The one polling loop behind the job and fleet-run streams.
 */
export function polledEvents(
  read: () => Promise<PolledState>,
  intervalMs: number,
  metrics: GatewayMetrics,
  errorData: Record<string, unknown> = {},
): Observable<PolledEvent> {
  return new Observable<PolledEvent>((subscriber) => {
    metrics.watchers.inc();
    let last = '';
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const state = await read();
        if (stopped) return;
        if (state.signature !== last) {
          last = state.signature;
          subscriber.next({ type: 'progress', data: state.data });
        }
        if (state.ended) {
          subscriber.next({ type: 'end', data: state.data });
          subscriber.complete();
          return;
        }
      } catch (error) {
        subscriber.next({
          type: 'error',
          data: { ...errorData, code: (error as { code?: string }).code ?? 'INTERNAL_ERROR' },
        });
        subscriber.complete();
        return;
      }
      timer = setTimeout(poll, intervalMs);
    };
    void poll();
    return () => {
      metrics.watchers.dec();
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  });
}
