import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import pino from 'pino';
import type { AuditDraft } from '../../../src/audit/audit-entry.js';
import { AuditSpool } from '../../../src/audit/audit-spool.js';
import { createLogger } from '../../../src/logging/logger.js';
import { auditSpoolQuarantined } from '../../../src/metrics/gateway-metrics.js';
import { draft } from '../../support/drafts.js';
import { tempDirPerTest } from '../../support/temp-dir.js';

/** The spool on real files: what it writes, what it reads back after a crash, and what it does when the disk fails. */
describe('AuditSpool', () => {
  const dir = tempDirPerTest('audit-spool-');
  let logs: Record<string, unknown>[];
  const logger = () => {
    logs = [];
    return createLogger('info', {
      write: (line: string) => void logs.push(JSON.parse(line)),
    } as pino.DestinationStream);
  };
  const lines = (path: string) => readFileSync(path, 'utf8');

  it('a missing file is an empty spool, and reading it creates nothing', async () => {
    const path = join(dir(), 'spool.ndjson');
    const spool = new AuditSpool(path, logger());
    expect(await spool.load()).toBe(0);
    await spool.clearIfDone();
    expect(existsSync(path)).toBe(false);
    expect(spool.size).toBe(0);
  });

  it('adds each draft as one JSON line, in order, in a file only its owner can read (directories created)', async () => {
    const path = join(dir(), 'nested', 'deeper', 'spool.ndjson');
    const spool = new AuditSpool(path, logger());
    const drafts = [draft({ comment: 'one' }), draft({ comment: 'two' }), draft({ comment: 'three' })];
    const added = drafts.map((d) => spool.add(d));
    expect(spool.size).toBe(3); // counted while still being written
    expect(await Promise.all(added)).toEqual([true, true, true]);
    expect(lines(path)).toBe(drafts.map((d) => `${JSON.stringify(d)}\n`).join(''));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(spool.oldest(2)).toEqual(drafts.slice(0, 2));
    expect(spool.oldest(10)).toEqual(drafts);
    expect(drafts.every((d) => spool.onDisk(d))).toBe(true);
    await spool.close();
  });

  it('keeps the file while any draft is left, and empties it once every one is done with', async () => {
    const path = join(dir(), 'spool.ndjson');
    const spool = new AuditSpool(path, logger());
    const [a, b] = [draft(), draft()];
    await spool.add(a);
    await spool.add(b);
    spool.remove(1);
    expect(spool.oldest(5)).toEqual([b]);
    await spool.clearIfDone();
    expect(lines(path)).toBe(`${JSON.stringify(a)}\n${JSON.stringify(b)}\n`);
    spool.remove(1);
    expect(spool.size).toBe(0);
    await spool.clearIfDone();
    expect(lines(path)).toBe('');
    // Appending after an emptying starts the file over.
    const c = draft();
    await spool.add(c);
    expect(lines(path)).toBe(`${JSON.stringify(c)}\n`);
    await spool.close();
  });

  it('picks up what a crashed process left: a torn last line cut off and logged, unreadable lines set aside and logged', async () => {
    const path = join(dir(), 'spool.ndjson');
    const [first, second] = [draft({ comment: 'first' }), draft({ comment: 'second' })];
    const { actor: _actor, ...withoutActor } = draft();
    const content = [
      JSON.stringify(first),
      'not json at all',
      'null',
      JSON.stringify({ ...draft(), id: 7 }),
      JSON.stringify({ ...draft(), time: null }),
      JSON.stringify({ ...draft(), stage: 1 }),
      JSON.stringify({ ...draft(), actor: null }),
      JSON.stringify({ ...draft(), actor: 'alice' }),
      JSON.stringify(withoutActor),
      '',
      JSON.stringify(second),
    ]
      .map((line) => `${line}\n`)
      .join('');
    const torn = JSON.stringify(draft()).slice(0, 40);
    writeFileSync(path, content + torn);

    const spool = new AuditSpool(path, logger());
    expect(await spool.load()).toBe(2);
    expect(spool.oldest(10)).toEqual([first, second]);
    const readable = `${JSON.stringify(first)}\n${JSON.stringify(second)}\n`;
    expect(lines(path)).toBe(readable);
    expect(logs.map((line) => [line.level, line.line ?? line.torn])).toEqual([
      ['error', torn],
      ['error', 2],
      ['error', 3],
      ['error', 4],
      ['error', 5],
      ['error', 6],
      ['error', 7],
      ['error', 8],
      ['error', 9],
    ]);
    expect(logs[0]).toMatchObject({
      spool: path,
      msg: 'audit spool: its last line is torn (the process writing it died); skipped, the other entries are written',
    });
    expect(logs[1]).toMatchObject({
      spool: path,
      text: 'not json at all',
      quarantine: `${path}.quarantine`,
      msg: 'audit spool: an unreadable line is set aside in the quarantine file; the entries after it are written',
    });

    // New drafts go after the complete lines; once all are done the file is emptied.
    const third = draft();
    await spool.add(third);
    expect(lines(path)).toBe(`${readable}${JSON.stringify(third)}\n`);
    spool.remove(3);
    await spool.clearIfDone();
    expect(lines(path)).toBe('');
    await spool.close();
  });

  it('sets a malformed record in the middle aside in the quarantine file: the records after it are delivered', async () => {
    const path = join(dir(), 'spool.ndjson');
    const [before, after] = [draft({ comment: 'before' }), draft({ comment: 'after' })];
    // Shaped like a draft at a glance (id, time, stage, actor), yet the store could only fail on it, on every retry.
    const malformed = [
      JSON.stringify({ id: 'x-1', time: '2026-03-10T08:15:02.000Z', stage: 'completed', actor: { subject: 'a' } }),
      JSON.stringify({ ...draft(), settles: { caller: 'c', key: 'k', entryId: 'e', response: null } }),
      JSON.stringify({ ...draft(), httpStatus: '202' }),
    ];
    writeFileSync(path, [JSON.stringify(before), ...malformed, JSON.stringify(after)].map((l) => `${l}\n`).join(''));
    const counted = (await auditSpoolQuarantined.get()).values[0]?.value ?? 0;

    const spool = new AuditSpool(path, logger());
    expect(await spool.load()).toBe(2);
    expect(spool.oldest(10)).toEqual([before, after]);
    expect(lines(`${path}.quarantine`)).toBe(malformed.map((l) => `${l}\n`).join(''));
    expect(statSync(`${path}.quarantine`).mode & 0o777).toBe(0o600);
    // The spool holds only what can be delivered: a restart before the drain does not find the bad lines again.
    expect(lines(path)).toBe(`${JSON.stringify(before)}\n${JSON.stringify(after)}\n`);
    expect(logs.filter((line) => line.level === 'error').map((line) => line.line)).toEqual([2, 3, 4]);
    expect((await auditSpoolQuarantined.get()).values[0]?.value).toBe(counted + 3);

    const again = new AuditSpool(path, logger());
    expect(await again.load()).toBe(2);
    expect(logs).toEqual([]);
    await spool.close();
    await again.close();
  });

  it('a short write (a full disk) is not spooled: the torn line is cut back and the draft waits in memory', async () => {
    const path = join(dir(), 'spool.ndjson');
    const spool = new AuditSpool(path, logger());
    const kept = draft({ comment: 'whole' });
    expect(await spool.add(kept)).toBe(true);
    const probe = await open(join(dir(), 'probe'), 'w');
    const prototype = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const realWrite = prototype.write;
    // What write(2) does when the disk fills mid-line: part of the bytes, and no error.
    prototype.write = function (this: unknown, ...args: unknown[]) {
      const [buffer, offset, length] = args as [Buffer, number, number];
      return realWrite.call(this, buffer, offset, Math.floor(length / 2));
    };
    const lost = draft({ comment: 'torn by a full disk' });
    try {
      expect(await spool.add(lost)).toBe(false);
    } finally {
      prototype.write = realWrite;
    }
    expect(spool.onDisk(lost)).toBe(false);
    expect(spool.oldest(5)).toEqual([kept, lost]);
    expect(lines(path)).toBe(`${JSON.stringify(kept)}\n`);
    expect(logs).toEqual([expect.objectContaining({ level: 'error', written: false, id: lost.id })]);
    const next = draft();
    expect(await spool.add(next)).toBe(true);
    expect(lines(path)).toBe(`${JSON.stringify(kept)}\n${JSON.stringify(next)}\n`);
    await spool.close();
  });

  it('a file without a torn line is read as it is, nothing logged', async () => {
    const path = join(dir(), 'spool.ndjson');
    const d = draft();
    writeFileSync(path, `${JSON.stringify(d)}\n`);
    const spool = new AuditSpool(path, logger());
    expect(await spool.load()).toBe(1);
    expect(logs).toEqual([]);
    expect(lines(path)).toBe(`${JSON.stringify(d)}\n`);
  });

  it('a spool that cannot be written keeps the draft in memory only, and its log line holds the whole entry', async () => {
    const blocker = join(dir(), 'a-file');
    writeFileSync(blocker, '');
    const spool = new AuditSpool(join(blocker, 'spool.ndjson'), logger());
    const d = draft({ comment: 'kept in memory' });
    expect(await spool.add(d)).toBe(false);
    expect(spool.onDisk(d)).toBe(false);
    expect(spool.oldest(1)).toEqual([d]);
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'error',
        audit: true,
        written: false,
        id: d.id,
        comment: 'kept in memory',
        entryTime: d.time,
        spool: join(blocker, 'spool.ndjson'),
      }),
    ]);
    spool.remove(1);
    expect(spool.onDisk(d)).toBe(true); // no longer in the spool at all
  });

  it('a file that could not be read is never emptied: whatever it holds stays for someone to look at', async () => {
    const path = join(dir(), 'spool.ndjson');
    mkdirSync(path); // reading fails (EISDIR)...
    const spool = new AuditSpool(path, logger());
    await expect(spool.load()).rejects.toMatchObject({ code: 'EISDIR' });
    // ...and by the time the next draft comes, the path is a file again, holding who knows what.
    rmdirSync(path);
    writeFileSync(path, 'unread\n');
    const d = draft();
    expect(await spool.add(d)).toBe(true);
    spool.remove(1);
    await spool.clearIfDone();
    expect(lines(path)).toBe(`unread\n${JSON.stringify(d)}\n`);
    await spool.close();
  });

  it('closing lets a later add open the file again and append', async () => {
    const path = join(dir(), 'spool.ndjson');
    const spool = new AuditSpool(path, logger());
    const [a, b] = [draft(), draft()];
    await spool.add(a);
    await spool.close();
    await spool.add(b);
    expect(lines(path)).toBe(`${JSON.stringify(a)}\n${JSON.stringify(b)}\n`);
    await spool.close();
    await spool.close();
  });
});

/** The FileHandle class every `fs/promises` handle shares: where a test watches fsync and simulates a full disk. */
async function fileHandlePrototype(dir: string) {
  const probe = await open(join(dir, 'probe'), 'w');
  const prototype = Object.getPrototypeOf(probe) as {
    sync: () => Promise<void>;
    write: (...args: unknown[]) => Promise<{ bytesWritten: number }>;
  };
  await probe.close();
  return prototype;
}

describe('AuditSpool durability and validation', () => {
  const dir = tempDirPerTest('audit-spool-sync-');
  const silent = () => pino({ level: 'silent' });
  const lines = (path: string) => readFileSync(path, 'utf8');

  /** Every fsync, by the handle's file descriptor's target: the spool file, or something else (its directory). */
  async function watchSyncs() {
    const prototype = await fileHandlePrototype(dir());
    const realSync = prototype.sync;
    const synced: string[] = [];
    const spy = jest.spyOn(prototype, 'sync').mockImplementation(function (this: { fd: number }) {
      // What the handle is open on, as the kernel names it: the spool file or its directory.
      synced.push(readlinkSync(`/proc/self/fd/${this.fd}`));
      return realSync.call(this);
    });
    return { synced, restore: () => spy.mockRestore() };
  }

  it('each add is fsynced before it resolves; a file it creates gets its directory fsynced too, once', async () => {
    const path = join(dir(), 'spool.ndjson');
    const spool = new AuditSpool(path, silent());
    const { synced, restore } = await watchSyncs();
    try {
      await spool.add(draft());
      expect(synced).toEqual([dir(), path]);
      await spool.add(draft());
      expect(synced).toEqual([dir(), path, path]);
      // Reopened after close: the file exists, so only the file is fsynced.
      await spool.close();
      await spool.add(draft());
      expect(synced).toEqual([dir(), path, path, path]);
      // Emptying is fsynced too.
      spool.remove(3);
      await spool.clearIfDone();
      expect(synced).toEqual([dir(), path, path, path, path]);
    } finally {
      restore();
      await spool.close();
    }
  });

  it('cutting off a torn line is fsynced; setting lines aside fsyncs the quarantine, the rewrite and the directory', async () => {
    const path = join(dir(), 'spool.ndjson');
    writeFileSync(path, `${JSON.stringify(draft())}\n{"torn`);
    const { synced, restore } = await watchSyncs();
    try {
      const spool = new AuditSpool(path, silent());
      expect(await spool.load()).toBe(1);
      expect(synced).toEqual([path]);
      await spool.close();
      synced.length = 0;
      writeFileSync(path, `${JSON.stringify(draft())}\nnot a draft\n`);
      const again = new AuditSpool(path, silent());
      expect(await again.load()).toBe(1);
      expect(synced).toEqual([`${path}.quarantine`, `${path}.rewrite`, dir()]);
      await again.close();
    } finally {
      restore();
    }
  });

  /** Loads a spool holding one good draft and then `record`; says whether `record` was taken as a draft. */
  async function accepted(record: unknown): Promise<boolean> {
    const path = join(dir(), `spool-${Math.random().toString(36).slice(2)}.ndjson`);
    const good = draft();
    const text = typeof record === 'string' ? record : JSON.stringify(record);
    writeFileSync(path, `${JSON.stringify(good)}\n${text}\n`);
    const spool = new AuditSpool(path, silent());
    const count = await spool.load();
    await spool.close();
    expect(count === 2).toBe(existsSync(`${path}.quarantine`) === false);
    return count === 2;
  }

  it.each(['id', 'time', 'stage', 'requestId', 'action', 'appliance', 'schedule'])(
    'a draft needs its %s as a string',
    async (key) => {
      expect(await accepted({ ...draft(), [key]: 1 })).toBe(false);
      expect(await accepted({ ...draft(), [key]: null })).toBe(false);
      const { [key as keyof AuditDraft]: _dropped, ...without } = draft();
      expect(await accepted(without)).toBe(false);
    },
  );

  it.each(['subject', 'authMethod', 'ip'])("a draft's actor needs its %s as a string", async (key) => {
    const base = draft();
    expect(await accepted({ ...base, actor: { ...base.actor, [key]: 1 } })).toBe(false);
    const { [key as keyof AuditDraft['actor']]: _dropped, ...actor } = base.actor;
    expect(await accepted({ ...base, actor })).toBe(false);
  });

  it.each(['name', 'clientId', 'userAgent'])(
    "a draft's actor may lack its %s, or have it null, not a number",
    async (key) => {
      const base = draft();
      expect(await accepted({ ...base, actor: { ...base.actor, [key]: 1 } })).toBe(false);
      expect(await accepted({ ...base, actor: { ...base.actor, [key]: null } })).toBe(true);
      expect(await accepted({ ...base, actor: { ...base.actor, [key]: 'text' } })).toBe(true);
      const { [key as keyof AuditDraft['actor']]: _dropped, ...actor } = base.actor;
      expect(await accepted({ ...base, actor })).toBe(true);
    },
  );

  it.each(['comment', 'outcome', 'code', 'jobId', 'fleetRequestId', 'requestedId', 'replayOf'])(
    'a draft may lack %s, or have it null or a string, not a number',
    async (key) => {
      expect(await accepted({ ...draft(), [key]: 1 })).toBe(false);
      expect(await accepted({ ...draft(), [key]: 'text' })).toBe(true);
      const { [key as keyof AuditDraft]: _dropped, ...without } = draft();
      expect(await accepted(without)).toBe(true);
    },
  );

  it.each(['httpStatus', 'durationMs', 'count'])(
    'a draft may lack %s, or have it null or a finite number, not a string nor an overflow',
    async (key) => {
      expect(await accepted({ ...draft(), [key]: '1' })).toBe(false);
      expect(await accepted({ ...draft(), [key]: 12 })).toBe(true);
      expect(await accepted({ ...draft(), [key]: null })).toBe(true);
      // JSON.parse reads 1e400 as Infinity, which no store column holds.
      expect(await accepted(JSON.stringify({ ...draft(), [key]: 0 }).replace(`"${key}":0`, `"${key}":1e400`))).toBe(
        false,
      );
    },
  );

  it('a draft that settles an Idempotency-Key carries either the whole answer or a fleet member, well-formed', async () => {
    const settles = { caller: 'jwt:alice', key: 'k-1', entryId: 'e-1' };
    const response = { status: 202, body: '{}', headers: { 'content-type': 'application/json' } };
    expect(await accepted({ ...draft(), settles: { ...settles, response } })).toBe(true);
    expect(await accepted({ ...draft(), settles: { ...settles, member: 'vc-a', memberResult: '{}' } })).toBe(true);
    for (const key of ['caller', 'key', 'entryId']) {
      expect(await accepted({ ...draft(), settles: { ...settles, [key]: 1, response } })).toBe(false);
    }
    for (const bad of [
      { ...response, status: '202' },
      { ...response, body: {} },
      { ...response, headers: null },
      { ...response, headers: { 'content-type': 1 } },
      'answered',
    ]) {
      expect(await accepted({ ...draft(), settles: { ...settles, response: bad } })).toBe(false);
    }
    expect(await accepted({ ...draft(), settles: { ...settles, member: 'vc-a' } })).toBe(false);
    expect(await accepted({ ...draft(), settles: { ...settles, memberResult: '{}' } })).toBe(false);
    expect(await accepted({ ...draft(), settles: { ...settles, member: 1, memberResult: '{}' } })).toBe(false);
    expect(await accepted({ ...draft(), settles: ['answered'] })).toBe(false);
    expect(await accepted({ ...draft(), settles: null })).toBe(false);
  });

  it('a draft that raises notifications carries well-formed messages, and the job it follows if any', async () => {
    const message = { id: 'msg_1', eventId: 'ev-1', webhook: 'ops', type: 't', subject: 'vc-a', body: '{}' };
    const follow = { appliance: 'vc-a', jobId: 'job-1', context: '{}' };
    expect(await accepted({ ...draft(), outbox: { messages: [message] } })).toBe(true);
    expect(await accepted({ ...draft(), outbox: { messages: [], follow } })).toBe(true);
    expect(await accepted({ ...draft(), outbox: { messages: [message, message], follow } })).toBe(true);
    for (const key of Object.keys(message)) {
      expect(await accepted({ ...draft(), outbox: { messages: [message, { ...message, [key]: 1 }] } })).toBe(false);
      const { [key as keyof typeof message]: _dropped, ...without } = message;
      expect(await accepted({ ...draft(), outbox: { messages: [without] } })).toBe(false);
    }
    for (const key of Object.keys(follow)) {
      expect(await accepted({ ...draft(), outbox: { messages: [], follow: { ...follow, [key]: 1 } } })).toBe(false);
    }
    for (const bad of [null, [], 'sent', { follow }, { messages: {} }, { messages: [null] }, { messages: [[]] }]) {
      expect(await accepted({ ...draft(), outbox: bad })).toBe(false);
    }
    expect(await accepted({ ...draft(), outbox: { messages: [], follow: null } })).toBe(false);
    expect(await accepted({ ...draft(), outbox: { messages: [], follow: [] } })).toBe(false);
  });

  it('a draft must be an object with an actor object', async () => {
    expect(await accepted('[]')).toBe(false);
    expect(await accepted('"a string"')).toBe(false);
    expect(await accepted({ ...draft(), actor: [] })).toBe(false);
  });

  it('lines that cannot be set aside leave the spool as it is, never emptied, while the good drafts are delivered', async () => {
    const path = join(dir(), 'spool.ndjson');
    const good = draft();
    const content = `${JSON.stringify(good)}\nnot a draft\n`;
    writeFileSync(path, content);
    mkdirSync(`${path}.quarantine`); // the quarantine file cannot be opened
    const logged: Record<string, unknown>[] = [];
    const spool = new AuditSpool(
      path,
      createLogger('info', { write: (line: string) => void logged.push(JSON.parse(line)) } as pino.DestinationStream),
    );
    expect(await spool.load()).toBe(1);
    expect(spool.oldest(5)).toEqual([good]);
    expect(logged.at(-1)).toMatchObject({
      level: 'error',
      spool: path,
      quarantine: `${path}.quarantine`,
      msg: 'audit spool: unreadable lines could not be set aside; the spool file is kept as it is for someone to look at',
    });
    // Delivered and done with: the file still holds the unreadable line, for someone to look at.
    const next = draft();
    expect(await spool.add(next)).toBe(true);
    spool.remove(2);
    await spool.clearIfDone();
    expect(lines(path)).toBe(`${content}${JSON.stringify(next)}\n`);
    await spool.close();
  });

  it.each([
    ['the quarantine file', 0],
    ['the rewritten spool', 1],
  ])('a short write to %s (a full disk) keeps the spool as it is', async (_name, failing) => {
    const path = join(dir(), 'spool.ndjson');
    const content = `${JSON.stringify(draft())}\nnot a draft\n${JSON.stringify(draft())}\n`;
    writeFileSync(path, content);
    const prototype = await fileHandlePrototype(dir());
    const realWrite = prototype.write;
    let calls = 0;
    const spy = jest.spyOn(prototype, 'write').mockImplementation(function (this: unknown, ...args: unknown[]) {
      const [buffer, offset, length] = args as [Buffer, number, number];
      return realWrite.call(this, buffer, offset, calls++ === failing ? length - 1 : length);
    });
    const spool = new AuditSpool(path, silent());
    try {
      expect(await spool.load()).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(lines(path)).toBe(content);
    spool.remove(2);
    await spool.clearIfDone();
    expect(lines(path)).toBe(content);
    await spool.close();
  });

  /** Half of every write lands while `during` runs: what write(2) does when the disk fills mid-line. */
  async function withShortWrites<T>(during: () => Promise<T>): Promise<T> {
    const prototype = await fileHandlePrototype(dir());
    const realWrite = prototype.write;
    const spy = jest.spyOn(prototype, 'write').mockImplementation(function (this: unknown, ...args: unknown[]) {
      const [buffer, offset, length] = args as [Buffer, number, number];
      return realWrite.call(this, buffer, offset, Math.floor(length / 2));
    });
    try {
      return await during();
    } finally {
      spy.mockRestore();
    }
  }

  it('drafts picked up from an earlier process, once done with, empty the file', async () => {
    const path = join(dir(), 'spool.ndjson');
    writeFileSync(path, `${JSON.stringify(draft())}\n${JSON.stringify(draft())}\n`);
    const spool = new AuditSpool(path, silent());
    expect(await spool.load()).toBe(2);
    spool.remove(1);
    await spool.clearIfDone();
    expect(lines(path)).not.toBe('');
    spool.remove(1);
    await spool.clearIfDone();
    expect(lines(path)).toBe('');
    await spool.close();
  });

  it('after setting lines aside, a failed write is cut back to the lines kept, not to the old length', async () => {
    const path = join(dir(), 'spool.ndjson');
    const good = draft();
    writeFileSync(path, `${'x'.repeat(500)}\n${JSON.stringify(good)}\n`);
    const spool = new AuditSpool(path, silent());
    expect(await spool.load()).toBe(1);
    expect(await withShortWrites(() => spool.add(draft()))).toBe(false);
    expect(lines(path)).toBe(`${JSON.stringify(good)}\n`);
    await spool.close();
  });

  it('a failed write to a file that could not be read is not cut back: nothing of what it held is lost', async () => {
    const path = join(dir(), 'spool.ndjson');
    mkdirSync(path);
    const spool = new AuditSpool(path, silent());
    await expect(spool.load()).rejects.toMatchObject({ code: 'EISDIR' });
    rmdirSync(path);
    writeFileSync(path, 'unread\n');
    const lost = draft();
    expect(await withShortWrites(() => spool.add(lost))).toBe(false);
    // The half line stays too: cutting back would need a length this process never knew.
    expect(lines(path)).toBe(
      `unread\n${`${JSON.stringify(lost)}\n`.slice(0, Math.floor((JSON.stringify(lost).length + 1) / 2))}`,
    );
    await spool.close();
  });

  /** What this process holds open, as the kernel names it: one entry per file descriptor. */
  const openFiles = () =>
    readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/self/fd/${fd}`)];
      } catch {
        return []; // the descriptor readdir itself used, closed meanwhile
      }
    });
  const held = (path: string) => openFiles().filter((file) => file === path).length;

  it('holds one descriptor on the spool while open and none after close; the directory, quarantine and rewrite are closed at once', async () => {
    const path = join(dir(), 'spool.ndjson');
    writeFileSync(path, `${JSON.stringify(draft())}\nnot a draft\n`);
    const spool = new AuditSpool(path, silent());
    expect(await spool.load()).toBe(1);
    await spool.add(draft());
    await spool.add(draft());
    await spool.add(draft());
    expect(held(path)).toBe(1);
    expect(held(dir())).toBe(0);
    expect(held(`${path}.quarantine`)).toBe(0);
    expect(held(`${path}.rewrite`)).toBe(0);
    await spool.close();
    expect(held(path)).toBe(0);

    // A spool that creates its file fsyncs the directory through a handle it closes again.
    const fresh = join(dir(), 'fresh', 'spool.ndjson');
    const other = new AuditSpool(fresh, silent());
    await other.add(draft());
    expect(held(join(dir(), 'fresh'))).toBe(0);
    await other.close();
  });

  it('after close, the spool opens its path again: a file moved away meanwhile keeps what it had', async () => {
    const path = join(dir(), 'spool.ndjson');
    const spool = new AuditSpool(path, silent());
    const [a, b] = [draft(), draft()];
    await spool.add(a);
    await spool.close();
    renameSync(path, `${path}.moved`);
    await spool.add(b);
    expect(lines(`${path}.moved`)).toBe(`${JSON.stringify(a)}\n`);
    expect(lines(path)).toBe(`${JSON.stringify(b)}\n`);
    await spool.close();
  });

  it('a short write is logged with what went wrong, in bytes', async () => {
    const path = join(dir(), 'spool.ndjson');
    const logged: Record<string, unknown>[] = [];
    const spool = new AuditSpool(
      path,
      createLogger('info', { write: (line: string) => void logged.push(JSON.parse(line)) } as pino.DestinationStream),
    );
    const lost = draft();
    const size = Buffer.byteLength(`${JSON.stringify(lost)}\n`);
    expect(await withShortWrites(() => spool.add(lost))).toBe(false);
    expect(logged).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'audit spool cannot be written: this entry waits in memory only until the store takes it',
        err: expect.objectContaining({
          message: `short write to the audit spool: ${Math.floor(size / 2)} of ${size} bytes (disk full?)`,
        }),
      }),
    ]);
    await spool.close();
  });

  it.each([
    ['the quarantine file', 'not a draft\n'],
    ['the rewritten spool', null],
  ])('a short write to %s is logged with its byte counts', async (_name, quarantined) => {
    const path = join(dir(), 'spool.ndjson');
    const good = JSON.stringify(draft());
    writeFileSync(path, `${good}\nnot a draft\n`);
    const logged: Record<string, unknown>[] = [];
    const spool = new AuditSpool(
      path,
      createLogger('info', { write: (line: string) => void logged.push(JSON.parse(line)) } as pino.DestinationStream),
    );
    const prototype = await fileHandlePrototype(dir());
    const realWrite = prototype.write;
    // Only the write of the file under test comes up short.
    const failing = quarantined === null ? 1 : 0;
    let calls = 0;
    const spy = jest.spyOn(prototype, 'write').mockImplementation(function (this: unknown, ...args: unknown[]) {
      const [buffer, offset, length] = args as [Buffer, number, number];
      return realWrite.call(this, buffer, offset, calls++ === failing ? length - 1 : length);
    });
    try {
      expect(await spool.load()).toBe(1);
    } finally {
      spy.mockRestore();
    }
    const size = Buffer.byteLength(quarantined ?? `${good}\n`);
    expect(logged.at(-1)).toMatchObject({
      msg: 'audit spool: unreadable lines could not be set aside; the spool file is kept as it is for someone to look at',
      err: expect.objectContaining({ message: `short write: ${size - 1} of ${size} bytes` }),
    });
    await spool.close();
  });

  it('the stored answer of a settlement needs a record of string headers', async () => {
    const settles = { caller: 'jwt:alice', key: 'k-1', entryId: 'e-1' };
    const response = { status: 202, body: '{}' };
    for (const headers of ['text/plain', ['text/plain'], { a: 'x', b: 1 }]) {
      expect(await accepted({ ...draft(), settles: { ...settles, response: { ...response, headers } } })).toBe(false);
    }
    expect(await accepted({ ...draft(), settles: { ...settles, response: { ...response, headers: {} } } })).toBe(true);
  });
});
