import {
  type ChainHead,
  type ChainSource,
  entryHash,
  GENESIS_HASH,
  sealEntry,
  verifyChain,
  walkStretch,
} from '../../../src/audit/audit-chain.js';
import type { AuditEntry, AuditEntryBody } from '../../../src/audit/audit-entry.js';
import { draft } from '../../support/drafts.js';

/**
 * A chain held in memory, tampered with the way someone with write access to the database would: rows edited with
 * their hashes recomputed, rows deleted, the head row edited. Verification only sees the ChainSource interface, so
 * this is what any store hands it.
 */
class MemoryChain implements ChainSource {
  entries: AuditEntry[] = [];
  anchor = { seq: 0, hash: GENESIS_HASH };
  /** Overrides of the head row, as someone editing it would leave it. */
  headEdits: Partial<ChainHead> = {};
  readonly pages: { afterSeq: number; upToSeq: number; limit: number }[] = [];
  heads = 0;
  /** Every page but the first fails, as a connection lost mid-walk would. */
  failAfterFirstPage = false;

  static of(length: number): MemoryChain {
    const chain = new MemoryChain();
    for (let i = 0; i < length; i++) chain.append();
    return chain;
  }

  append(): AuditEntry {
    const last = this.entries.at(-1) ?? { seq: this.anchor.seq, hash: this.anchor.hash };
    const entry = sealEntry(draft({ comment: `entry ${this.entries.length + 1}` }), last);
    this.entries.push(entry);
    return entry;
  }

  /** Replaces the entry at `seq` with `edit` applied and its own hash recomputed: it verifies on its own. */
  forge(seq: number, edit: Partial<AuditEntryBody>): AuditEntry {
    const index = this.entries.findIndex((e) => e.seq === seq);
    const { hash: _old, ...body } = { ...this.entries[index], ...edit };
    const forged = { ...body, hash: entryHash(body) };
    this.entries[index] = forged;
    return forged;
  }

  async head(): Promise<ChainHead> {
    this.heads++;
    const last = this.entries.at(-1);
    return {
      lastSeq: last?.seq ?? this.anchor.seq,
      lastId: last?.id ?? null,
      lastHash: last?.hash ?? this.anchor.hash,
      anchorSeq: this.anchor.seq,
      anchorHash: this.anchor.hash,
      ...this.headEdits,
    };
  }

  async entriesBetween(afterSeq: number, upToSeq: number, limit: number): Promise<AuditEntry[]> {
    this.pages.push({ afterSeq, upToSeq, limit });
    if (this.failAfterFirstPage && afterSeq > this.anchor.seq) throw new Error('connection lost');
    return this.entries.filter((e) => e.seq > afterSeq && e.seq <= upToSeq).slice(0, limit);
  }
}

/**
 * Every case below runs with the chain walked in one stretch, and cut into two and three stretches walked at once (as
 * the stores' threads walk them), each with its pages asked for one at a time (SQLite) or ahead (PostgreSQL): the
 * result, first bad entry and count included, must be the one walk's.
 */
describe.each([1, 2, 3].flatMap((stretches) => [false, true].map((ahead) => [stretches, ahead] as const)))(
  'verifyChain, %i stretch(es), pages asked for ahead: %s',
  (stretches, ahead) => {
    const verifyChain_ = (chain: MemoryChain, pageSize?: number) =>
      verifyChain(
        chain,
        Array.from(
          { length: stretches },
          () => (afterSeq: number, upToSeq: number) => walkStretch(chain, afterSeq, upToSeq, { pageSize, ahead }),
        ),
      );

    it('walks an intact chain page by page, from the anchor to the head', async () => {
      const chain = MemoryChain.of(5);
      expect(await verifyChain_(chain, 2)).toEqual({ ok: true, count: 5 });
      // Each stretch from its own start, pages of 2: one stretch reads on from where it left off.
      const pages = {
        1: [
          [0, 5],
          [2, 5],
          [4, 5],
        ],
        2: [
          [0, 2],
          [2, 5],
          [4, 5],
        ],
        3: [
          [0, 1],
          [1, 3],
          [3, 5],
        ],
      }[stretches];
      expect(chain.pages.map((page) => [page.afterSeq, page.upToSeq]).sort(([a], [b]) => a - b)).toEqual(pages);
      expect(chain.pages.every((page) => page.limit === 2)).toBe(true);
      // An empty stretch (here the whole of an empty chain) asks for nothing.
      const empty = new MemoryChain();
      expect(await verifyChain_(empty)).toEqual({ ok: true, count: 0 });
      expect(empty.pages).toEqual([]);
    });

    it('a middle entry forged with its hash recomputed is caught by the next entry’s link, and only there', async () => {
      const chain = MemoryChain.of(5);
      const next = chain.entries[3];
      const forged = chain.forge(3, {
        comment: 'nothing to see here',
        actor: { ...chain.entries[2].actor, subject: 'x' },
      });
      expect(entryHash(forged)).toBe(forged.hash); // it verifies on its own...
      expect(next.prevHash).not.toBe(forged.hash); // ...but the entry after it still names the original
      expect(await verifyChain_(chain, 2)).toEqual({ ok: false, count: 3, firstBad: { id: next.id, reason: 'link' } });
    });

    it('an entry forged anywhere (hash recomputed) is caught by the next entry’s link, across stretch ends too', async () => {
      for (let seq = 1; seq <= 5; seq++) {
        const chain = MemoryChain.of(6);
        chain.forge(seq, { comment: 'forged' });
        const next = chain.entries[seq];
        expect({ seq, result: await verifyChain_(chain, 2) }).toEqual({
          seq,
          result: { ok: false, count: seq, firstBad: { id: next.id, reason: 'link' } },
        });
      }
    });

    it('an entry deleted anywhere is a broken link on the one after it, or on the id the head names', async () => {
      for (let seq = 1; seq <= 6; seq++) {
        const chain = MemoryChain.of(6);
        const [deleted] = chain.entries.splice(seq - 1, 1);
        if (seq === 6) chain.headEdits = { lastSeq: 6, lastId: deleted.id, lastHash: deleted.hash };
        const id = seq === 6 ? deleted.id : chain.entries[seq - 1].id;
        expect({ seq, result: await verifyChain_(chain, 2) }).toEqual({
          seq,
          result: { ok: false, count: seq - 1, firstBad: { id, reason: 'link' } },
        });
      }
    });

    it('an entry whose own hash does not match its content is reported as `hash`, before anything after it', async () => {
      const chain = MemoryChain.of(4);
      const target = chain.entries[1];
      chain.entries[1] = { ...target, comment: 'edited without rehashing' };
      expect(await verifyChain_(chain)).toEqual({ ok: false, count: 1, firstBad: { id: target.id, reason: 'hash' } });
    });

    it('seq must be gapless: an entry deleted and its successor relinked over it (hashes recomputed) is a broken link', async () => {
      const chain = MemoryChain.of(5);
      const [first, second, , fourth] = chain.entries;
      chain.entries.splice(2, 1);
      // The successor now names the entry before the deleted one, and everything after it is rehashed to match.
      const relinked = chain.forge(4, { prevHash: second.hash });
      chain.forge(5, { prevHash: relinked.hash });
      expect(relinked.id).toBe(fourth.id);
      expect(await verifyChain_(chain)).toEqual({ ok: false, count: 2, firstBad: { id: fourth.id, reason: 'link' } });
      expect(first.seq).toBe(1);
    });

    it('a chain shorter than its head says ends in a broken link on the id the head names', async () => {
      const chain = MemoryChain.of(4);
      const last = chain.entries[3];
      chain.entries.pop();
      chain.headEdits = { lastSeq: 4, lastId: last.id, lastHash: last.hash };
      expect(await verifyChain_(chain)).toEqual({ ok: false, count: 3, firstBad: { id: last.id, reason: 'link' } });
      // Each stretch stops at its first empty page instead of asking again: the last one reads one empty page.
      expect(chain.pages).toHaveLength(stretches + 1);
    });

    it('a head counting more entries than there are is a broken link, even when its hash is the last entry’s', async () => {
      const chain = MemoryChain.of(4);
      chain.headEdits = { lastSeq: 5 };
      expect(await verifyChain_(chain)).toEqual({
        ok: false,
        count: 4,
        firstBad: { id: chain.entries[3].id, reason: 'link' },
      });
    });

    it('a head naming another hash than the last entry’s is a broken link, (unknown) when it names no id', async () => {
      const chain = MemoryChain.of(3);
      chain.headEdits = { lastHash: 'f'.repeat(64) };
      expect(await verifyChain_(chain)).toEqual({
        ok: false,
        count: 3,
        firstBad: { id: chain.entries[2].id, reason: 'link' },
      });
      chain.headEdits = { lastHash: 'f'.repeat(64), lastId: null };
      expect(await verifyChain_(chain)).toEqual({ ok: false, count: 3, firstBad: { id: '(unknown)', reason: 'link' } });
    });

    it('after a retention purge the walk starts at the anchor and trusts its hash', async () => {
      const chain = MemoryChain.of(6);
      const purged = chain.entries.splice(0, 3);
      chain.anchor = { seq: 3, hash: purged[2].hash };
      expect(await verifyChain_(chain, 2)).toEqual({ ok: true, count: 3 });
      expect(Math.min(...chain.pages.map((page) => page.afterSeq))).toBe(3);
      expect(Math.max(...chain.pages.map((page) => page.upToSeq))).toBe(6);
      chain.anchor = { seq: 3, hash: purged[1].hash };
      expect(await verifyChain_(chain)).toEqual({
        ok: false,
        count: 0,
        firstBad: { id: chain.entries[0].id, reason: 'link' },
      });
    });

    describe('a purge moving the anchor while the walk runs', () => {
      /** Entries purged after the walk read the head: the walk finds its first entry missing. */
      function purgingDuringEveryWalk(chain: MemoryChain, walks: number): void {
        const read = chain.entriesBetween.bind(chain);
        let purges = 0;
        // Once per walk (per head read), whichever stretch reads from the anchor first.
        let purgedAtHead = -1;
        chain.entriesBetween = async (afterSeq, upToSeq, limit) => {
          if (purges < walks && afterSeq === chain.anchor.seq && purgedAtHead !== chain.heads) {
            purgedAtHead = chain.heads;
            purges++;
            const gone = chain.entries.shift() as AuditEntry;
            chain.anchor = { seq: gone.seq, hash: gone.hash };
          }
          return read(afterSeq, upToSeq, limit);
        };
      }

      it('starts over, and a walk after the purge verifies', async () => {
        const chain = MemoryChain.of(5);
        purgingDuringEveryWalk(chain, 1);
        expect(await verifyChain_(chain)).toEqual({ ok: true, count: 4 });
        expect(chain.heads).toBe(3); // walk, check the anchor, walk again
      });

      it('gives up after three walks and reports the last one', async () => {
        const chain = MemoryChain.of(6);
        purgingDuringEveryWalk(chain, 10);
        const result = await verifyChain_(chain);
        expect(result).toEqual({ ok: false, count: 0, firstBad: { id: chain.entries[0].id, reason: 'link' } });
        expect(chain.heads).toBe(5);
      });

      it('does not walk again when the anchor stayed: the chain is broken', async () => {
        const chain = MemoryChain.of(4);
        chain.forge(2, { comment: 'forged' });
        await verifyChain_(chain);
        expect(chain.heads).toBe(2);
      });
    });
  },
);

describe('walkStretch asks for the next page before it checks this one', () => {
  it('the page after a forged entry was already asked for when the walk reports it', async () => {
    const chain = MemoryChain.of(4);
    chain.entries[0] = { ...chain.entries[0], comment: 'edited, hash left as it was' };
    const result = await walkStretch(chain, 0, 4, { pageSize: 2, ahead: true });
    expect(result.firstBad).toEqual({ id: chain.entries[0].id, reason: 'hash' });
    expect(chain.pages.map((page) => [page.afterSeq, page.upToSeq])).toEqual([
      [0, 4],
      [2, 4],
    ]);
  });

  it('a page asked for ahead that fails after the walk stopped is no unhandled rejection', async () => {
    const chain = MemoryChain.of(4);
    chain.entries[1] = { ...chain.entries[1], comment: 'edited, hash left as it was' };
    chain.failAfterFirstPage = true;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const result = await walkStretch(chain, 0, 4, { pageSize: 2, ahead: true });
      expect(result.firstBad).toEqual({ id: chain.entries[1].id, reason: 'hash' });
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a page that fails while the walk needs it fails the walk', async () => {
    const chain = MemoryChain.of(4);
    chain.failAfterFirstPage = true;
    await expect(walkStretch(chain, 0, 4, { pageSize: 2, ahead: true })).rejects.toThrow('connection lost');
  });
});
