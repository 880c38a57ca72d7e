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
import { hash } from 'node:crypto';
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

/** canonicalJson's rule for numbers, for the entry's integer fields: anything but a safe integer is refused. */
function integer<T>(value: T): T {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new TypeError(`canonicalJson: ${value} is not a safe integer`);
  }
  return value;
}

/**
 * The hashed form of an entry: canonicalJson over its fields, listed one by one so that nothing else an object carries
 * (finalOutcome, a row's extra columns) slips in. Written as JSON.stringify of an object literal whose keys are already
 * in canonicalJson's order (sorted by UTF-16 code units, the actor's too): for the values an entry holds (strings,
 * safe integers, null) JSON.stringify writes the bytes canonicalJson writes, and it leaves out a member whose value is
 * undefined, as canonicalJson does. V8 serialises such a literal on its fast path, without listing or sorting keys:
 * verification writes every entry of the trail, and this form costs 1.5 µs an entry where a walk over sorted member
 * lists cost 2.5 (bench/README.md, "Entries read as arrays"). test/pure/audit/audit-chain.spec.ts compares it with
 * canonicalJson over the same fields on random entries.
 */
export function canonicalEntry(entry: AuditEntryBody): string {
  const { actor } = entry;
  return JSON.stringify({
    action: entry.action,
    actor: {
      authMethod: actor.authMethod,
      clientId: actor.clientId,
      ip: actor.ip,
      name: actor.name,
      subject: actor.subject,
      userAgent: actor.userAgent,
    },
    appliance: entry.appliance,
    code: entry.code,
    comment: entry.comment,
    // Fields added after the first version are hashed only when set, so entries written before keep their hash.
    count: integer(entry.count ?? undefined),
    durationMs: integer(entry.durationMs),
    fleetRequestId: entry.fleetRequestId,
    httpStatus: integer(entry.httpStatus),
    id: entry.id,
    jobId: entry.jobId,
    outcome: entry.outcome,
    prevHash: entry.prevHash,
    replayOf: entry.replayOf ?? undefined,
    requestId: entry.requestId,
    requestedId: entry.requestedId,
    schedule: entry.schedule,
    seq: integer(entry.seq),
    stage: entry.stage,
    time: entry.time,
  });
}

export function entryHash(entry: AuditEntryBody): string {
  // crypto.hash, the one-shot form (Node ≥ 20.12): no Hash object per entry, half the cost of createHash for a string
  // this size (0.7 against 1.5 µs here), which verification pays for every entry of the trail.
  return hash('sha256', canonicalEntry(entry), 'hex');
}

/** Places a draft in the chain after `previous`. */
export function sealEntry(draft: AuditDraft, previous: { seq: number; hash: string }): AuditEntry {
  // The Idempotency-Key answer a draft carries is written beside the entry, never part of it.
  const { settles: _settles, ...fields } = draft;
  // The chain's own fields are assigned over the draft's copy, after it: whatever a draft carries, they win. Assigned,
  // not spread into a new object: Node 20's V8 gives an object that begins with a spread a hidden class of its own,
  // every time (bench/README.md, "Objects that begin with a spread"), and every entry of the trail is sealed here.
  const body: AuditEntryBody = Object.assign(fields, { seq: previous.seq + 1, prevHash: previous.hash });
  return Object.assign(body, { hash: entryHash(body) });
}

/**
 * Entries per page of a walk, on either store. With the next page asked for ahead, PostgreSQL's pages of 1,000 walked
 * 10M entries at 237–244k/s, where pages of 200 did 189–203k (a query per 200 entries: the server's CPU per entry went
 * from 1.4 to 2.4 µs) and pages of 2,000 178–181k (the walk's own CPU per entry went from 6.6 to 9.2 µs; bench/README.md,
 * "The next page asked for first").
 */
const VERIFY_PAGE = 1000;

/** What a walk over one stretch of the chain found. */
export interface StretchResult {
  /** The stretch's first entry, as it links back: checked where the stretches are joined (verifyChain). */
  first?: { seq: number; id: string; prevHash: string };
  /** Its last entry verified. */
  last?: { seq: number; hash: string };
  /** Entries verified, up to the first bad one. */
  count: number;
  firstBad?: { id: string; reason: 'hash' | 'link' };
}

/** Verifies the stretch afterSeq < seq <= upToSeq (walkStretch), wherever it runs: here, or on a store's thread. */
export type StretchVerifier = (afterSeq: number, upToSeq: number) => Promise<StretchResult>;

/** How a walk reads its stretch. */
export interface WalkOptions {
  /** Entries per page (VERIFY_PAGE). */
  pageSize?: number;
  /**
   * Ask for the next page before checking this one, so that a database server (PostgreSQL) reads it meanwhile
   * instead of the walk waiting for it between pages. Not for a source that answers on the walk's own thread
   * (better-sqlite3): there it gains nothing, and two pages alive at once cost the SQLite walk 6 % of its speed
   * (bench/README.md, "The next page asked for first").
   */
  ahead: boolean;
}

/**
 * Walks one stretch of the chain: every entry's own hash, and every link inside the stretch (`seq` one more than the
 * entry before, `prevHash` its hash). The first entry's link reaches outside the stretch, so it is returned, not
 * checked. Hashing costs a few µs an entry: between pages the walk yields to the event loop (setImmediate), so that a
 * page is the longest it ever holds it, wherever it runs; a source that answers synchronously (better-sqlite3) would
 * otherwise keep it for the whole stretch.
 */
export async function walkStretch(
  source: Pick<ChainSource, 'entriesBetween'>,
  afterSeq: number,
  upToSeq: number,
  { pageSize = VERIFY_PAGE, ahead }: WalkOptions,
): Promise<StretchResult> {
  let first: StretchResult['first'];
  let last: StretchResult['last'];
  let count = 0;
  // A page asked for ahead may fail while this one is checked, or after the walk stopped at a bad entry: handled from
  // the start, so that it is never an unhandled rejection (which ends the process); awaited, it still throws.
  const ask = (after: number) => {
    const page = source.entriesBetween(after, upToSeq, pageSize);
    page.catch(() => undefined);
    return page;
  };
  const askAfter = (page: AuditEntry[]) => {
    const last = page.at(-1);
    return last && last.seq < upToSeq ? ask(last.seq) : undefined;
  };
  let next = afterSeq < upToSeq ? ask(afterSeq) : undefined;
  while (next) {
    const page = await next;
    next = ahead ? askAfter(page) : undefined;
    await new Promise((resolve) => setImmediate(resolve));
    for (const entry of page) {
      if (!last) first = { seq: entry.seq, id: entry.id, prevHash: entry.prevHash };
      else if (entry.seq !== last.seq + 1 || entry.prevHash !== last.hash) {
        return { first, last, count, firstBad: { id: entry.id, reason: 'link' } };
      }
      if (entryHash(entry) !== entry.hash) return { first, last, count, firstBad: { id: entry.id, reason: 'hash' } };
      count++;
      last = { seq: entry.seq, hash: entry.hash };
    }
    if (!ahead) next = askAfter(page);
  }
  return { first, last, count };
}

/**
 * Walks the chain from the anchor to the head read at the start (entries appended meanwhile are left for the next
 * run) and reports the first entry whose link (`prevHash`, `seq`) or own hash does not match. An entry deleted from
 * the middle shows as a broken link on the entry after it; one deleted from the end as a broken link on the id the
 * head still names. A retention purge running concurrently moves the anchor; the walk then starts over.
 *
 * The chain is cut into as many stretches as there are verifiers, walked at the same time (a store gives one per
 * thread it reads on: reading and hashing an entry is ~7 µs of CPU, so one core caps a walk at ~140,000 entries/s;
 * bench/README.md, "Verification on two threads"), then joined in order: each stretch's first entry must follow the
 * last entry verified before it, as it would in one walk, so the result is the one a single walk gives, first bad
 * entry and count included.
 */
export async function verifyChain(
  source: Pick<ChainSource, 'head'>,
  stretches: readonly StretchVerifier[],
): Promise<VerifyResult> {
  for (let attempt = 1; ; attempt++) {
    const head = await source.head();
    const result = await walk(head, stretches);
    if (result.ok || attempt === 3) return result;
    const now = await source.head();
    if (now.anchorSeq === head.anchorSeq) return result;
  }
}

async function walk(head: ChainHead, stretches: readonly StretchVerifier[]): Promise<VerifyResult> {
  const length = head.lastSeq - head.anchorSeq;
  const bound = (i: number) => head.anchorSeq + Math.floor((length * i) / stretches.length);
  const results = await Promise.all(stretches.map((verify, i) => verify(bound(i), bound(i + 1))));
  let prevHash = head.anchorHash;
  let expectedSeq = head.anchorSeq + 1;
  let count = 0;
  for (const { first, last, count: verified, firstBad } of results) {
    if (first && (first.seq !== expectedSeq || first.prevHash !== prevHash)) {
      return { ok: false, count, firstBad: { id: first.id, reason: 'link' } };
    }
    if (firstBad) return { ok: false, count: count + verified, firstBad };
    if (last) {
      count += verified;
      prevHash = last.hash;
      expectedSeq = last.seq + 1;
    }
  }
  if (expectedSeq - 1 !== head.lastSeq || prevHash !== head.lastHash) {
    return { ok: false, count, firstBad: { id: head.lastId ?? '(unknown)', reason: 'link' } };
  }
  return { ok: true, count };
}
