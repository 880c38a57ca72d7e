import { BulkheadRejectedError, bulkhead } from 'cockatiel';
import { upstreamBusy } from '../problems/appliance-errors.js';

export type LaneName = 'run' | 'read';

/**
 * One kind of traffic to one appliance: as many execution slots as the connections it may use, with a bounded queue
 * in front. A request only reaches the appliance's connection pool once it holds a slot, and the pool has as many
 * connections as both lanes have slots (see VapiClient), so a request never waits inside the pool: time spent
 * queueing is ours, not the appliance's, and never counts toward its timeout or its circuit breaker. When the queue
 * is full the request is refused at once (503 OVERLOADED, nothing sent) instead of piling up. Runs and logins have a
 * lane of their own, so a flood of reads can never delay a run.
 */
export class ApplianceLane {
  private readonly slots: ReturnType<typeof bulkhead>;

  constructor(
    readonly name: LaneName,
    private readonly appliance: string,
    connections: number,
    queue: number,
  ) {
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
}
