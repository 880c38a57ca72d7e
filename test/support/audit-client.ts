/**
 * Reads the audit trail the way an auditor does: over HTTP, with an `audit:read` credential, from a gateway
 * in-process or a gateway process alike.
 */
import type { AuditEvent, VerifyResult } from '../../src/audit/audit-entry.js';

export interface AuditTrail {
  /** Every entry, newest first, parsed from the NDJSON export. */
  events: AuditEvent[];
  /** The export as sent, to search for anything that must never be there. */
  raw: string;
}

export interface AuditClient {
  /** One page of GET /audit/events (JSON) with these filters. */
  page(query?: Record<string, string>): Promise<{ items: AuditEvent[]; nextCursor: string | null }>;
  /** The entries for one request id, newest first, split by stage. */
  forRequest(requestId: string): Promise<RequestEntries>;
  /** GET /audit/events with Accept: application/x-ndjson: every matching entry. */
  export(query?: Record<string, string>): Promise<AuditTrail>;
  verify(): Promise<VerifyResult>;
}

export interface RequestEntries {
  all: AuditEvent[];
  requested: AuditEvent[];
  completed: AuditEvent[];
}

export function auditClient(baseUrl: string, authorization: string): AuditClient {
  const get = async (path: string, accept = 'application/json'): Promise<Response> => {
    const response = await fetch(`${baseUrl}${path}`, { headers: { authorization, accept } });
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return response;
  };
  const search = (query: Record<string, string> = {}) => {
    const text = new URLSearchParams(query).toString();
    return text === '' ? '' : `?${text}`;
  };
  const client: AuditClient = {
    async page(query) {
      return (await get(`/audit/events${search(query)}`)).json() as Promise<{
        items: AuditEvent[];
        nextCursor: string | null;
      }>;
    },
    async forRequest(requestId) {
      const { items, nextCursor } = await client.page({ requestId, limit: '500' });
      if (nextCursor !== null) throw new Error(`more than 500 entries for request ${requestId}`);
      return splitByStage(items);
    },
    async export(query) {
      const raw = await (await get(`/audit/events${search(query)}`, 'application/x-ndjson')).text();
      const events = raw
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as AuditEvent);
      return { events, raw };
    },
    async verify() {
      return (await get('/audit/verify')).json() as Promise<VerifyResult>;
    },
  };
  return client;
}

export function splitByStage(events: AuditEvent[]): RequestEntries {
  return {
    all: events,
    requested: events.filter((e) => e.stage === 'requested'),
    completed: events.filter((e) => e.stage === 'completed'),
  };
}

/** Entries grouped by request id. */
export function byRequestId(events: AuditEvent[]): Map<string, RequestEntries> {
  const groups = new Map<string, AuditEvent[]>();
  for (const event of events) groups.set(event.requestId, [...(groups.get(event.requestId) ?? []), event]);
  return new Map([...groups].map(([id, group]) => [id, splitByStage(group)]));
}
