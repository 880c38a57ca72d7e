import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalEntry, canonicalJson, entryHash, GENESIS_HASH, sealEntry } from '../../../src/audit/audit-chain.js';
import type { AuditDraft, AuditEntryBody } from '../../../src/audit/audit-entry.js';
import { draft } from '../../support/drafts.js';

/** Pinned: anyone re-implementing verification (the README's recipe, an auditor's script) must get these bytes. */
const KNOWN: AuditEntryBody = {
  seq: 1,
  id: '00000000-0000-4000-8000-000000000001',
  time: '2026-03-10T08:15:02.113Z',
  stage: 'completed',
  requestId: 'portal-req.42',
  action: 'backup.schedule.run',
  actor: {
    subject: 'alice',
    name: 'Zoë Ünicode',
    clientId: 'portal',
    authMethod: 'jwt',
    ip: '10.0.4.17',
    userAgent: null,
  },
  appliance: 'vc-prod-3',
  schedule: 'default',
  comment: 'before "8.0.3"\nupgrade',
  outcome: 'accepted',
  httpStatus: 202,
  code: null,
  jobId: '20260310-081502-00000001',
  durationMs: 412,
  fleetRequestId: null,
  requestedId: '00000000-0000-4000-8000-000000000000',
  replayOf: null,
  count: null,
  prevHash: GENESIS_HASH,
};

describe('audit chain', () => {
  it('serialises canonically (RFC 8785 for our values) and hashes with SHA-256; checked against Python json.dumps(sort_keys)', () => {
    expect(canonicalEntry(KNOWN)).toBe(
      '{"action":"backup.schedule.run","actor":{"authMethod":"jwt","clientId":"portal","ip":"10.0.4.17","name":"Zoë Ünicode",' +
        '"subject":"alice","userAgent":null},"appliance":"vc-prod-3","code":null,"comment":"before \\"8.0.3\\"\\nupgrade",' +
        '"durationMs":412,"fleetRequestId":null,"httpStatus":202,"id":"00000000-0000-4000-8000-000000000001",' +
        '"jobId":"20260310-081502-00000001","outcome":"accepted","prevHash":"' +
        '0'.repeat(64) +
        '","requestId":"portal-req.42","requestedId":"00000000-0000-4000-8000-000000000000","schedule":"default","seq":1,' +
        '"stage":"completed","time":"2026-03-10T08:15:02.113Z"}',
    );
    expect(entryHash(KNOWN)).toBe('7115a4664f1fb6806b1c12614fb0ed0d7cdd2bd1988be0541f6f03b7e7670d42');
  });

  it('hashes the fields added later only when set, so entries written before them keep their hash', () => {
    const replay = { ...KNOWN, outcome: 'replayed' as const, replayOf: '00000000-0000-4000-8000-000000000002' };
    expect(canonicalEntry(replay)).toContain('"replayOf":"00000000-0000-4000-8000-000000000002"');
    expect(canonicalEntry(replay)).not.toContain('"count"');
    expect(entryHash(replay)).not.toBe(entryHash({ ...replay, replayOf: '00000000-0000-4000-8000-000000000003' }));
    const window = { ...KNOWN, outcome: 'rate_limited' as const, count: 7 };
    expect(canonicalEntry(window)).toContain('"count":7');
    expect(entryHash(window)).not.toBe(entryHash({ ...window, count: 8 }));
    // The pinned entry above has neither, and its bytes are those of the first version.
    expect(canonicalEntry(KNOWN)).not.toMatch(/replayOf|"count"/);
  });

  it('ignores properties outside the entry (finalOutcome) and key order, but not any field', () => {
    const shuffled = Object.fromEntries(Object.entries(KNOWN).reverse()) as unknown as AuditEntryBody;
    expect(entryHash({ ...shuffled, finalOutcome: 'accepted' } as AuditEntryBody)).toBe(entryHash(KNOWN));
    expect(entryHash({ ...KNOWN, seq: 2 })).not.toBe(entryHash(KNOWN));
    expect(entryHash({ ...KNOWN, comment: null })).not.toBe(entryHash(KNOWN));
    expect(entryHash({ ...KNOWN, actor: { ...KNOWN.actor, ip: '10.0.4.18' } })).not.toBe(entryHash(KNOWN));
  });

  it('writes an entry as canonicalJson writes the same fields, and hashes its UTF-8, on random entries (strings of any UTF-16 units, nulls, absent fields, extra properties)', () => {
    // The definition canonicalEntry implements with JSON.stringify and its keys in canonical order: canonicalJson over
    // these fields.
    const reference = (entry: AuditEntryBody): string =>
      canonicalJson({
        seq: entry.seq,
        id: entry.id,
        time: entry.time,
        stage: entry.stage,
        requestId: entry.requestId,
        action: entry.action,
        actor: {
          subject: entry.actor.subject,
          name: entry.actor.name,
          clientId: entry.actor.clientId,
          authMethod: entry.actor.authMethod,
          ip: entry.actor.ip,
          userAgent: entry.actor.userAgent,
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
        ...(entry.replayOf !== null && entry.replayOf !== undefined && { replayOf: entry.replayOf }),
        ...(entry.count !== null && entry.count !== undefined && { count: entry.count }),
        prevHash: entry.prevHash,
      });
    const unit = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
      fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
    );
    const text = fc.string({ unit, maxLength: 12 });
    // A field as stored (text or null), or absent altogether (undefined), which canonicalJson leaves out.
    const field = fc.option(fc.option(text, { nil: null }), { nil: undefined, freq: 8 });
    const integer = fc.option(fc.option(fc.maxSafeInteger(), { nil: null }), { nil: undefined, freq: 8 });
    const entries = fc.record({
      ...Object.fromEntries(Object.keys(KNOWN).map((key) => [key, field])),
      seq: integer,
      httpStatus: integer,
      durationMs: integer,
      count: integer,
      // Properties beyond the entry's fields (finalOutcome on a read entry, anything on a row) are never written.
      finalOutcome: field,
      actor: fc.record({ ...Object.fromEntries(Object.keys(KNOWN.actor).map((key) => [key, field])), extra: field }),
    }) as unknown as fc.Arbitrary<AuditEntryBody>;
    fc.assert(
      fc.property(entries, (entry) => {
        expect(canonicalEntry(entry)).toBe(reference(entry));
        // And the hash is SHA-256 of that text as UTF-8 (a lone surrogate as U+FFFD), as any tool's would be.
        expect(entryHash(entry)).toBe(createHash('sha256').update(reference(entry), 'utf8').digest('hex'));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses values it has no canonical form for', () => {
    // The message names what was refused: an audit write that fails on it says why in the log.
    expect(() => canonicalJson(1.5)).toThrow(new TypeError('canonicalJson: 1.5 is not a safe integer'));
    expect(() => canonicalJson(Number.NaN)).toThrow(new TypeError('canonicalJson: NaN is not a safe integer'));
    expect(() => canonicalJson(() => 1)).toThrow(new TypeError('canonicalJson: cannot serialise a function'));
    // So does an entry's serialiser, for each of its integer fields.
    for (const field of ['seq', 'httpStatus', 'durationMs', 'count'] as const) {
      expect(() => canonicalEntry({ ...KNOWN, [field]: 2.5 })).toThrow(
        new TypeError('canonicalJson: 2.5 is not a safe integer'),
      );
    }
    expect(canonicalJson({ b: [1, 'x', null, true], a: { d: undefined, c: 0 } })).toBe(
      '{"a":{"c":0},"b":[1,"x",null,true]}',
    );
  });

  it("never takes a draft's own seq, prevHash or hash into the chain", () => {
    const smuggled = { ...draft(), seq: 99, prevHash: 'f'.repeat(64), hash: '0'.repeat(64) } as AuditDraft;
    const entry = sealEntry(smuggled, { seq: 0, hash: GENESIS_HASH });
    expect(entry).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(entry.hash).toBe(entryHash(entry));
    expect(entry.hash).not.toBe('0'.repeat(64));
  });

  it('seals a draft after its predecessor', () => {
    const first = sealEntry(draft(), { seq: 0, hash: GENESIS_HASH });
    const second = sealEntry(draft(), first);
    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH, hash: entryHash(first) });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash, hash: entryHash(second) });
  });
});
