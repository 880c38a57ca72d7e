/**
 * The SQLite audit store's thread (node:worker_threads, started by WorkerAuditStore). better-sqlite3 answers
 * synchronously: here its statements, fsyncs and hash-chain walks take this thread's time, never the gateway's event
 * loop. The store is the same SqliteAuditStore, group commit included: appends whose messages arrive before its next
 * turn share one transaction.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  FLEET_RUN_CALLS,
  type SqliteWorkerOptions,
  serializeError,
  WORKER_CALLS,
  type WorkerReply,
  type WorkerRequest,
} from './audit-worker-protocol.js';
import { SqliteAuditStore } from './sqlite-audit-store.js';

if (!parentPort) throw new Error('sqlite-audit-worker runs as a worker thread (WorkerAuditStore starts it)');
const port = parentPort;
const options = workerData as SqliteWorkerOptions;
const store = new SqliteAuditStore(options.path, {
  busyTimeoutMs: options.busyTimeoutMs,
  migrate: options.migrate,
  readOnly: options.readOnly,
});
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
