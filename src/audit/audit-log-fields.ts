import type { AuditDraft, AuditEntry } from './audit-entry.js';

/**
 * An entry as fields of a log line: all of it (the line may be its only record), with its time as `entryTime`,
 * since pino writes its own `time` and a second one in the same line would be ambiguous JSON.
 */
export function logFields(entry: AuditDraft | AuditEntry): Record<string, unknown> {
  const { time, ...rest } = entry;
  return { ...rest, entryTime: time };
}
