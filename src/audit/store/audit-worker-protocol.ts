/**
 * Messages between a StoreThread (the event loop's side) and the audit store it runs (audit-store-worker.ts). Calls are
 * store methods by name with their arguments (structured clone), one message each.
 */
import type { FleetRunStore } from '../fleet-runs.js';
import { DraftRejectedError } from './audit-store.js';

/** The store methods the worker answers. */
export const WORKER_CALLS = [
  'open',
  'close',
  'append',
  'query',
  'queryNdjson',
  'verify',
  'verifyStretch',
  'head',
  'entriesBetween',
  'purgeBefore',
  'ping',
  'claimIdempotencyKey',
  'completeIdempotencyKey',
  'releaseIdempotencyKey',
  'renewIdempotencyKey',
  'purgeExpiredIdempotencyKeys',
  'enqueueNotifications',
  'claimNotifications',
  'settleNotification',
  'listNotifications',
  'notificationStats',
  'claimFollowedJobs',
  'releaseNotifications',
  'purgeNotificationsBefore',
] as const;
export type WorkerCall = (typeof WORKER_CALLS)[number] | FleetRunCall;

/** The fleet-run store's methods (the store's `fleetRuns`), answered by the worker as well. */
export const FLEET_RUN_CALLS = [
  'createFleetRun',
  'getFleetRun',
  'claimFleetRuns',
  'reserveFleetMembers',
  'enterFleetMember',
  'updateFleetMember',
  'cancelFleetRun',
  'finishFleetRun',
  'releaseFleetRuns',
] as const satisfies readonly (keyof FleetRunStore)[];
export type FleetRunCall = (typeof FLEET_RUN_CALLS)[number];

export interface SqliteWorkerOptions {
  path: string;
  busyTimeoutMs?: number;
  migrate?: boolean;
  /** The reader thread's store (see SqliteAuditStoreOptions.readOnly). */
  readOnly?: boolean;
}

/** PostgreSQL's reader thread: verification and the export (PostgresAuditStoreOptions.readerThread). */
export interface PostgresWorkerOptions {
  url: string;
  schema?: string;
  poolSize: number;
  applicationName: string;
}

/** The store a thread opens. */
export type StoreThreadOptions =
  | ({ store: 'sqlite' } & SqliteWorkerOptions)
  | ({ store: 'postgres' } & PostgresWorkerOptions);

export type WorkerRequest = { id: number; call: WorkerCall; args: unknown[]; purgeBatch?: number };

export type WorkerReply = { id: number; value: unknown } | { id: number; error: SerializedError };

/** Errors cross as data: what the event loop's side needs to log them and to tell a rejected draft from a failure. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  draftId?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof DraftRejectedError) {
    return { name: error.name, message: error.message, code: error.code, draftId: error.draftId };
  }
  const { name, message, code } = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
  return {
    name: typeof name === 'string' ? name : 'Error',
    message: typeof message === 'string' ? message : String(error),
    ...(code !== undefined && { code: String(code) }),
  };
}

export function deserializeError(data: SerializedError): Error {
  if (data.name === 'DraftRejectedError' && data.draftId !== undefined) {
    const rejected = new DraftRejectedError(data.draftId, '', data.code);
    rejected.message = data.message;
    return rejected;
  }
  return Object.assign(new Error(data.message), {
    name: data.name,
    ...(data.code !== undefined && { code: data.code }),
  });
}
