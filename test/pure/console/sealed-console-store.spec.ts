/**
 * SealedConsoleStore, alone: what the inner store (Redis, in production) holds is sealed, and only the value sealed
 * for a key, under the same secret, opens there. Anything written by someone else is no session.
 */
import { MemoryConsoleStore } from '../../../src/console/memory-console-store.js';
import { RecordSeal, SealedConsoleStore } from '../../../src/console/sealed-console-store.js';

const SECRET = 'a-console-session-secret-of-32+chars';
const RECORD = JSON.stringify({ v: 2, via: 'apiKey', caller: 'apikey:lab', scopes: ['backups:run'] });

function setup(secret = SECRET) {
  const inner = new MemoryConsoleStore();
  return { inner, sealed: new SealedConsoleStore(inner, new RecordSeal(secret)) };
}

describe('SealedConsoleStore', () => {
  it('seals what it stores and opens it again, with get and with take', async () => {
    const { inner, sealed } = setup();
    await sealed.set('session:a', RECORD, 60_000);
    const stored = (await inner.get('session:a')) as string;
    expect(stored).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(stored).not.toContain('apikey:lab');
    expect(stored).not.toContain('backups:run');
    expect(await sealed.get('session:a')).toBe(RECORD);
    expect(await sealed.take('session:a')).toBe(RECORD);
    expect(await inner.get('session:a')).toBeUndefined();
  });

  it('a value written in the clear, as a forger would, is no value', async () => {
    const { inner, sealed } = setup();
    await inner.set('session:forged', RECORD, 60_000);
    expect(await sealed.get('session:forged')).toBeUndefined();
    await inner.set('session:forged', `v1.${Buffer.from(RECORD).toString('base64url')}`, 60_000);
    expect(await sealed.get('session:forged')).toBeUndefined();
  });

  it('a tampered value is refused, whichever byte changed', async () => {
    const { inner, sealed } = setup();
    await sealed.set('session:a', RECORD, 60_000);
    const raw = Buffer.from(((await inner.get('session:a')) as string).slice(3), 'base64url');
    // The IV, the tag and the ciphertext: one flipped bit in any of them.
    for (const index of [0, 12, 28, raw.length - 1]) {
      const tampered = Buffer.from(raw);
      tampered[index] ^= 1;
      await inner.set('session:a', `v1.${tampered.toString('base64url')}`, 60_000);
      expect(await sealed.get('session:a')).toBeUndefined();
    }
    await inner.set('session:a', `v1.${raw.toString('base64url')}`, 60_000);
    expect(await sealed.get('session:a')).toBe(RECORD);
  });

  it("a value moved to another key does not open there (the key is the seal's authenticated data)", async () => {
    const { inner, sealed } = setup();
    await sealed.set('session:victim', RECORD, 60_000);
    await inner.set('session:chosen', (await inner.get('session:victim')) as string, 60_000);
    expect(await sealed.get('session:chosen')).toBeUndefined();
    expect(await sealed.take('session:chosen')).toBeUndefined();
    expect(await sealed.get('session:victim')).toBe(RECORD);
  });

  it('a value sealed under another secret does not open', async () => {
    const mine = setup();
    const theirs = setup('another-secret-of-at-least-32-chars!');
    await theirs.sealed.set('session:a', RECORD, 60_000);
    await mine.inner.set('session:a', (await theirs.inner.get('session:a')) as string, 60_000);
    expect(await mine.sealed.get('session:a')).toBeUndefined();
  });

  it('keyed digests (for store keys made of client addresses) depend on the secret', () => {
    const seal = new RecordSeal(SECRET);
    expect(seal.tag('203.0.113.7')).toBe(new RecordSeal(SECRET).tag('203.0.113.7'));
    expect(seal.tag('203.0.113.7')).not.toBe(seal.tag('203.0.113.8'));
    expect(seal.tag('203.0.113.7')).not.toBe(new RecordSeal('another-secret-of-at-least-32-chars!').tag('203.0.113.7'));
  });
});
