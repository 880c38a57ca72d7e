import { BulkheadRejectedError, bulkhead } from 'cockatiel';
import { Pool } from 'undici';
import type { TlsConfig } from '../config/gateway-config.js';
import { upstreamBusy } from '../problems/appliance-errors.js';
import { tlsConnector } from './tls-connector.js';

export type LaneName = 'run' | 'read';

const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * One kind of traffic to one appliance: its own keep-alive pool and as many execution slots as connections, with a
 * bounded queue in front. A request only reaches undici once it holds a slot, so it never waits inside the pool:
 * time spent queueing is ours, not the appliance's, and never counts toward its timeout or its circuit breaker.
 * When the queue is full the request is refused at once (503 OVERLOADED, nothing sent) instead of piling up.
 * Runs and logins have a lane of their own, so a flood of reads can never delay a run.
 */
export class ApplianceLane {
  readonly pool: Pool;
  private readonly slots: ReturnType<typeof bulkhead>;

  constructor(
    readonly name: LaneName,
    private readonly appliance: string,
    origin: string,
    tls: TlsConfig,
    connections: number,
    queue: number,
  ) {
    this.pool = new Pool(origin, {
      connect: tlsConnector(tls),
      // Shorter than any appliance's idle timeout, so we never reuse a socket it is closing (docs/vapi-notes.md).
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 15_000,
      connections,
      // No answer of the vAPI is anywhere near this; a broken or hostile appliance must not fill our memory.
      maxResponseSize: MAX_ANSWER_BYTES,
    });
    this.slots = bulkhead(connections, queue);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await this.slots.execute(work);
    } catch (error) {
      if (error instanceof BulkheadRejectedError) throw upstreamBusy(this.appliance, this.name);
      throw error;
    }
  }

  close(): Promise<void> {
    return this.pool.close().catch(() => undefined);
  }
}
