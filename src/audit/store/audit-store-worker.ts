/**
 * An audit store's thread (node:worker_threads, started by StoreThread), reached by messages:
 * - SQLite's two threads (WorkerAuditStore): better-sqlite3 answers synchronously, so here its statements, fsyncs and
 *   hash-chain walks take this thread's time, never the gateway's event loop. The store is the same SqliteAuditStore,
 *   group commit included: appends whose messages arrive before its next turn share one transaction.
 * - PostgreSQL's reader (PostgresAuditStore's verification and export): pg's socket reads are buffers outside V8's
 *   heap, and the gigabytes of them a walk over a long trail takes in made V8 collect the whole heap of the thread
 *   they arrive on, again and again; here that is this thread's small heap, not the gateway's.
 * Only the configured store's module, and so its driver, is loaded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  FLEET_RUN_CALLS,
  type StoreThreadOptions,
  serializeError,
  WORKER_CALLS,
  type WorkerReply,
  type WorkerRequest,
} from './audit-worker-protocol.js';
import type { KyselyAuditStore } from './kysely-audit-store.js';

if (!parentPort) throw new Error('audit-store-worker runs as a worker thread (StoreThread starts it)');
const port = parentPort;

async function storeOf(options: StoreThreadOptions): Promise<KyselyAuditStore> {
  if (options.store === 'postgres') {
    const { PostgresAuditStore } = await import('./postgres-audit-store.js');
    return new PostgresAuditStore(options.url, {
      schema: options.schema,
      poolSize: options.poolSize,
      applicationName: options.applicationName,
      // Reads only: the event loop's own store has migrated the schema before this thread starts.
      migrate: false,
      // An idle connection that fails is dropped and replaced by the pool; its error is the same server's failure the
      // event loop's own pool reports, and without a listener pg would end this thread.
      onPoolError: () => undefined,
    });
  }
  const { SqliteAuditStore } = await import('./sqlite-audit-store.js');
  return new SqliteAuditStore(options.path, {
    busyTimeoutMs: options.busyTimeoutMs,
    migrate: options.migrate,
    readOnly: options.readOnly,
  });
}

// Messages that arrive meanwhile wait in the port until its listener is added.
const store = await storeOf(workerData as StoreThreadOptions);
const calls = new Set<string>(WORKER_CALLS);
const fleetRunCalls = new Set<string>(FLEET_RUN_CALLS);

port.on('message', (request: WorkerRequest) => {
  // An export page is text, copied into the event loop's heap (NdjsonPage says why not transferred bytes).
  void answer(request).then((reply) => port.postMessage(reply));
});

async function answer(request: WorkerRequest): Promise<WorkerReply> {
  try {
    if (fleetRunCalls.has(request.call)) {
      const fleetRuns = store.fleetRuns as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      return { id: request.id, value: await fleetRuns[request.call].apply(store.fleetRuns, request.args) };
    }
    if (!calls.has(request.call)) throw new Error(`unknown audit store call ${request.call}`);
    if (request.purgeBatch !== undefined) store.purgeBatch = request.purgeBatch;
    const method = store[request.call as (typeof WORKER_CALLS)[number]] as (...args: unknown[]) => Promise<unknown>;
    return { id: request.id, value: await method.apply(store, request.args) };
  } catch (error) {
    return { id: request.id, error: serializeError(error) };
  }
}
