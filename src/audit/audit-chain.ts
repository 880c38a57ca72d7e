/**
 * The hash chain that makes the audit trail tamper-evident, in the spirit of CloudTrail's log-file integrity
 * validation: each entry's `hash` is SHA-256 over its canonical serialisation, which includes `prevHash` (the
 * previous entry's `hash`) and `seq`. Editing an entry breaks its own hash; deleting, inserting or reordering
 * entries breaks a link. It shows tampering by someone who edits rows; someone able to recompute every hash can
 * rewrite history, which is why each entry is also shipped to the SIEM as a log line as it is written.
 *
 * Canonical serialisation, so anyone can re-verify an export (NDJSON, or the log lines) with their own tools:
 * the entry as GET /audit/events returns it, minus `hash` and `finalOutcome`, serialised with RFC 8785 (JCS) rules:
 * object keys sorted by UTF-16 code units at every level, no whitespace, strings escaped as JSON.stringify does,
 * integers in plain decimal, absent values as `null` (keys are never omitted), except the fields added later
 * (`replayOf`, `count`), which appear only when set so that older entries keep their hash. The hash is the lower-case hex
 * SHA-256 of that UTF-8 text. The first entry ever written links to GENESIS_HASH; after a retention purge the
 * first kept entry links to the stored anchor (the hash of the last purged entry), which verification trusts.
 */
import { createHash } from 'node:crypto';
import type { AuditDraft, AuditEntry, AuditEntryBody, VerifyResult } from './audit-entry.js';

export const GENESIS_HASH = '0'.repeat(64);

/** The single-row chain head every append updates in the same transaction as its insert. */
export interface ChainHead {
  /** seq of the newest entry (0 when nothing was ever written). */
  lastSeq: number;
  lastId: string | null;
  lastHash: string;
  /** Entries up to here were purged by retention; the chain restarts after it. */
  anchorSeq: number;
  anchorHash: string;
}

/** What verification needs from a store. */
export interface ChainSource {
  head(): Promise<ChainHead>;
  /** Entries with afterSeq < seq <= upToSeq, oldest first, at most `limit`. */
  entriesBetween(afterSeq: number, upToSeq: number, limit: number): Promise<AuditEntry[]>;
}

/** RFC 8785 canonical JSON for the values entries hold: strings, integers, booleans, null, arrays, plain objects. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    // Fractions and exponents have JCS rules of their own; entries never need them, so refuse rather than guess.
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonicalJson: ${value} is not a safe integer`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot serialise a ${typeof value}`);
}

/** The hashed form: listed field by field so that nothing else an object carries (finalOutcome) slips in. */
export function canonicalEntry(entry: AuditEntryBody): string {
  const { actor } = entry;
  return canonicalJson({
    seq: entry.seq,
    id: entry.id,
    time: entry.time,
    stage: entry.stage,
    requestId: entry.requestId,
    action: entry.action,
    actor: {
      subject: actor.subject,
      name: actor.name,
      clientId: actor.clientId,
      authMethod: actor.authMethod,
      ip: actor.ip,
      userAgent: actor.userAgent,
    },
    appliance: entry.appliance,
    schedule: entry.schedule,
    comment: entry.comment,
    outcome: entry.outcome,
    httpStatus: entry.httpStatus,
    code: entry.code,
    jobId: entry.jobId,
    durationMs: entry.durationMs,
    fleetRequestId: entry.fleetRequestId,
    requestedId: entry.requestedId,
    // Fields added after the first version are hashed only when set, so entries written before keep their hash.
    ...(entry.replayOf !== null && entry.replayOf !== undefined && { replayOf: entry.replayOf }),
    ...(entry.count !== null && entry.count !== undefined && { count: entry.count }),
    prevHash: entry.prevHash,
  });
}

export function entryHash(entry: AuditEntryBody): string {
  return createHash('sha256').update(canonicalEntry(entry), 'utf8').digest('hex');
}

/** Places a draft in the chain after `previous`. */
export function sealEntry(draft: AuditDraft, previous: { seq: number; hash: string }): AuditEntry {
  // The Idempotency-Key answer a draft carries is written beside the entry, never part of it.
  const { settles: _settles, ...fields } = draft;
  const body: AuditEntryBody = { ...fields, seq: previous.seq + 1, prevHash: previous.hash };
  return { ...body, hash: entryHash(body) };
}

const VERIFY_PAGE = 1000;

/**
 * Walks the chain from the anchor to the head read at the start (entries appended meanwhile are left for the next
 * run) and reports the first entry whose link (`prevHash`, `seq`) or own hash does not match. An entry deleted from
 * the middle shows as a broken link on the entry after it; one deleted from the end as a broken link on the id the
 * head still names. A retention purge running concurrently moves the anchor; the walk then starts over.
 * Hashing costs ~10 µs an entry: between pages the walk yields to the event loop (setImmediate), so that a page is
 * the longest it ever holds it, wherever it runs; a source that answers synchronously (better-sqlite3) would
 * otherwise keep it for the whole chain.
 */
export async function verifyChain(source: ChainSource, pageSize = VERIFY_PAGE): Promise<VerifyResult> {
  for (let attempt = 1; ; attempt++) {
    const head = await source.head();
    const result = await walk(source, head, pageSize);
    if (result.ok || attempt === 3) return result;
    const now = await source.head();
    if (now.anchorSeq === head.anchorSeq) return result;
  }
}

async function walk(source: ChainSource, head: ChainHead, pageSize: number): Promise<VerifyResult> {
  let prevHash = head.anchorHash;
  let expectedSeq = head.anchorSeq + 1;
  let count = 0;
  while (expectedSeq <= head.lastSeq) {
    const page = await source.entriesBetween(expectedSeq - 1, head.lastSeq, pageSize);
    if (page.length === 0) break;
    await new Promise((resolve) => setImmediate(resolve));
    for (const entry of page) {
      if (entry.seq !== expectedSeq || entry.prevHash !== prevHash) {
        return { ok: false, count, firstBad: { id: entry.id, reason: 'link' } };
      }
      if (entryHash(entry) !== entry.hash) return { ok: false, count, firstBad: { id: entry.id, reason: 'hash' } };
      count++;
      prevHash = entry.hash;
      expectedSeq++;
    }
  }
  if (expectedSeq - 1 !== head.lastSeq || prevHash !== head.lastHash) {
    return { ok: false, count, firstBad: { id: head.lastId ?? '(unknown)', reason: 'link' } };
  }
  return { ok: true, count };
}
