import type { AuditEvent } from '../api/client';

/** One run as the audit page shows it: its `requested` entry and the `completed` entry naming it, side by side. */
export interface AuditRow {
  key: string;
  requested?: AuditEvent;
  completed?: AuditEvent;
}

/**
 * Pairs the entries of a page: a `completed` entry joins the `requested` entry its `requestedId` names; a denial
 * (403) has no `requested` entry; a `requested` entry without its completion is still in flight, or was cut short.
 * Rows keep the order of the page (newest first), placed where the pair's newest entry was.
 */
export function pairAuditEvents(events: readonly AuditEvent[]): AuditRow[] {
  const rows = new Map<string, AuditRow>();
  for (const event of events) {
    const key = event.stage === 'completed' ? (event.requestedId ?? event.id) : event.id;
    const row = rows.get(key) ?? { key };
    if (event.stage === 'completed') row.completed = event;
    else row.requested = event;
    rows.set(key, row);
  }
  return [...rows.values()];
}
