import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { ConsoleStore } from './console-store.js';

const VERSION = 'v1.';

/**
 * Sessions in a shared Redis, sealed: AES-256-GCM under a key derived (HKDF-SHA256) from the console's OpenID client
 * secret, which every replica has and Redis does not. Whoever can read Redis sees no refresh or access token; whoever
 * can write it cannot forge a session (a record with chosen scopes under the digest of an id they chose) nor move
 * one session's record to another's key (the key is the authenticated data). A value that does not open is no
 * session.
 */
export class SealedConsoleStore implements ConsoleStore {
  readonly kind: ConsoleStore['kind'];
  private readonly key: Buffer;

  constructor(
    private readonly inner: ConsoleStore,
    secret: string,
  ) {
    this.kind = inner.kind;
    this.key = Buffer.from(hkdfSync('sha256', secret, 'backup-gateway console store', 'session records v1', 32));
  }

  async get(key: string): Promise<string | undefined> {
    return this.open(key, await this.inner.get(key));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.inner.set(key, this.seal(key, value), ttlMs);
  }

  async take(key: string): Promise<string | undefined> {
    return this.open(key, await this.inner.take(key));
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

  private seal(key: string, value: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(key, 'utf8'));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return VERSION + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  private open(key: string, sealed: string | undefined): string | undefined {
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
}
