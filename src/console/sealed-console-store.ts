import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { ConsoleStore } from './console-store.js';

const VERSION = 'v1.';

/**
 * AES-256-GCM under a key derived (HKDF-SHA256) from a secret every replica has and Redis does not
 * (`console.sessionSecret`, else the console's OpenID client secret), with the store key as authenticated data: a
 * value opens only under the key it was sealed for. Also keyed digests (HMAC-SHA256 under another derived key), for
 * store keys that must not tell what they were made of (a client's address).
 */
export class RecordSeal {
  private readonly key: Buffer;
  private readonly tagKey: Buffer;

  constructor(secret: string) {
    // The info string of the first sealed sessions: records sealed before keep opening under the same secret.
    this.key = Buffer.from(hkdfSync('sha256', secret, 'backup-gateway console store', 'session records v1', 32));
    this.tagKey = Buffer.from(hkdfSync('sha256', secret, 'backup-gateway console store', 'store key tags v1', 32));
  }

  seal(key: string, value: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(key, 'utf8'));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return VERSION + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The value sealed for `key`, or undefined for anything else (tampered, moved, sealed under another secret). */
  open(key: string, sealed: string | undefined): string | undefined {
    if (sealed === undefined || !sealed.startsWith(VERSION)) return undefined;
    try {
      const raw = Buffer.from(sealed.slice(VERSION.length), 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(key, 'utf8'));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  tag(text: string): string {
    return createHmac('sha256', this.tagKey).update(text, 'utf8').digest('base64url');
  }
}

/**
 * Sessions in a shared Redis, sealed (RecordSeal), whatever the sign-in method. Whoever can read Redis sees no
 * refresh or access token; whoever can write it cannot forge a session (a record with chosen scopes under the digest
 * of an id they chose) nor move one session's record to another's key. A value that does not open is no session.
 */
export class SealedConsoleStore implements ConsoleStore {
  readonly kind: ConsoleStore['kind'];

  constructor(
    private readonly inner: ConsoleStore,
    private readonly seal: RecordSeal,
  ) {
    this.kind = inner.kind;
  }

  async get(key: string): Promise<string | undefined> {
    return this.seal.open(key, await this.inner.get(key));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.inner.set(key, this.seal.seal(key, value), ttlMs);
  }

  update(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.inner.update(key, this.seal.seal(key, value), ttlMs);
  }

  async take(key: string): Promise<string | undefined> {
    return this.seal.open(key, await this.inner.take(key));
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  lock(key: string, ttlMs: number): Promise<boolean> {
    return this.inner.lock(key, ttlMs);
  }

  unlock(key: string): Promise<void> {
    return this.inner.unlock(key);
  }
}
