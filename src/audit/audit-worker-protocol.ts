/**
 * Messages between WorkerAuditStore (the event loop's side) and the SQLite audit worker. Calls are store methods by
 * name with their arguments (structured clone); appends travel as batches, one message per event-loop turn.
 */
import type { AuditDraft, AuditEntry } from './audit-entry.js';
import { DraftRejectedError } from './audit-store.js';

/** The store methods the worker answers, besides `appendBatch`. */
export const WORKER_CALLS = [
  'open',
  'close',
  'query',
  'queryNdjson',
  'verify',
  'head',
  'entriesBetween',
  'purgeBefore',
  'ping',
  'claimIdempotencyKey',
  'completeIdempotencyKey',
  'releaseIdempotencyKey',
  'purgeExpiredIdempotencyKeys',
] as const;
export type WorkerCall = (typeof WORKER_CALLS)[number];

export interface SqliteWorkerOptions {
  path: string;
  busyTimeoutMs?: number;
  migrate?: boolean;
}

export type WorkerRequest =
  | { id: number; call: WorkerCall; args: unknown[]; purgeBatch?: number }
  | { id: number; call: 'appendBatch'; drafts: AuditDraft[] };

export type WorkerReply = { id: number; value: unknown } | { id: number; error: SerializedError };

/** One result per draft of an appendBatch, in order. */
export type AppendResult = { entry: AuditEntry } | { error: SerializedError };

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
