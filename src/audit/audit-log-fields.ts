import type { AuditDraft, AuditEntry } from './audit-entry.js';

/**
 * An entry as fields of a log line: all of it (the line may be its only record), with its time as `entryTime`,
 * since pino writes its own `time` and a second one in the same line would be ambiguous JSON.
 */
export function logFields(entry: AuditDraft | AuditEntry): Record<string, unknown> {
  // The notifications a draft raises are not part of the entry: they live in the outbox, not in its log line.
  const { time, outbox: _outbox, ...rest } = entry as AuditDraft;
  return { ...rest, entryTime: time };
}
