/**
 * A real identity provider for tests: key pairs, a JWKS endpoint on loopback (counting its fetches),
 * and tokens signed with jose, the way an OpenID provider signs access tokens (RFC 9068 `at+jwt`).
 */
import { createHash, generateKeyPairSync, KeyObject, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SignJWT } from 'jose';

export const ISSUER_PATH = '/idp';
export const AUDIENCE = 'urn:backup-gateway:test';

interface SigningKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function keyPair(kid: string, alg: string): SigningKey {
  // PS256 signs with an ordinary RSA key (Node cannot export 'rsa-pss' keys as JWK).
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg, ...pair };
}

export interface TokenOptions {
  alg?: string;
  kid?: string;
  typ?: string;
  /** Sign with this key instead of a published one (a forged token). */
  key?: SigningKey;
  expiresInSeconds?: number;
  notBeforeSeconds?: number;
  issuer?: string;
  audience?: string;
  /** No `exp` claim at all (RFC 9068 requires one). */
  withoutExpiry?: boolean;
  /** No `sub` claim at all (RFC 9068 requires one). */
  withoutSubject?: boolean;
  /** Extra protected-header parameters, e.g. `{ crit: ['x-ext'], 'x-ext': 1 }` (signed as such). */
  header?: Record<string, unknown>;
}

export class IdentityProvider {
  readonly keys: SigningKey[] = [keyPair('rs-1', 'RS256'), keyPair('ps-1', 'PS256'), keyPair('es-1', 'ES256')];
  /** A key whose public half is never published. */
  readonly rogue = keyPair('rs-1', 'RS256');
  jwksFetches = 0;
  private server?: http.Server;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((request, response) => {
      this.jwksFetches++;
      const keys = this.keys.map((k) => ({
        ...k.publicKey.export({ format: 'jwk' }),
        kid: k.kid,
        alg: k.alg,
        use: 'sig',
      }));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys }));
      void request;
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  get issuer(): string {
    return `${this.url}${ISSUER_PATH}`;
  }

  get jwksUri(): string {
    return `${this.url}/jwks`;
  }

  /** Publishes a new key (rotation); tokens signed with it carry an unknown `kid` until the gateway refetches. */
  rotate(kid: string): SigningKey {
    const key = keyPair(kid, 'RS256');
    this.keys.push(key);
    return key;
  }

  /** Withdraws a key from the JWKS (how a provider revokes a compromised one); the key can still sign, as a thief's. */
  withdraw(kid: string): SigningKey {
    const index = this.keys.findIndex((k) => k.kid === kid);
    if (index < 0) throw new Error(`no published key ${kid}`);
    return this.keys.splice(index, 1)[0];
  }

  /** Publishes a new key under an existing `kid` (a provider that reuses kids when it rotates). */
  replace(kid: string): SigningKey {
    const index = this.keys.findIndex((k) => k.kid === kid);
    const key = keyPair(kid, this.keys[index].alg === 'ES256' ? 'ES256' : 'RS256');
    this.keys[index] = key;
    return key;
  }

  /** Writes the RS256 public key as a PEM file (for `publicKeyFile`). */
  writePublicKey(dir: string): string {
    const path = join(dir, 'idp-public.pem');
    writeFileSync(path, this.keys[0].publicKey.export({ type: 'spki', format: 'pem' }));
    return path;
  }

  jwtConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { issuer: this.issuer, audience: AUDIENCE, jwksUri: this.jwksUri, ...overrides };
  }

  async token(claims: Record<string, unknown> = {}, options: TokenOptions = {}): Promise<string> {
    const alg = options.alg ?? 'RS256';
    const key = options.key ?? this.keys.find((k) => k.alg === alg) ?? this.keys[0];
    const now = Math.floor(Date.now() / 1000);
    const header: Record<string, unknown> & { alg: string } = {
      alg,
      kid: options.kid ?? key.kid,
      typ: options.typ ?? 'at+jwt',
      ...options.header,
    };
    const jwt = new SignJWT({ client_id: 'portal', ...claims })
      .setProtectedHeader(header)
      .setIssuer(options.issuer ?? this.issuer)
      .setAudience(options.audience ?? AUDIENCE)
      .setIssuedAt(now)
      .setNotBefore(now + (options.notBeforeSeconds ?? 0))
      .setJti(randomUUID());
    if (!options.withoutExpiry) jwt.setExpirationTime(now + (options.expiresInSeconds ?? 300));
    if (!options.withoutSubject && claims.sub === undefined) jwt.setSubject('alice');
    // jose refuses to sign critical extensions it is not told it understands; the signer here does.
    const crit = Array.isArray(header.crit)
      ? Object.fromEntries(header.crit.map((name: unknown) => [String(name), true]))
      : {};
    return jwt.sign(key.privateKey, { crit });
  }

  /** HS256 with a shared secret (only valid where the gateway is configured with that secret). */
  async hsToken(secret: string, claims: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(AUDIENCE)
      .setSubject('svc')
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(new TextEncoder().encode(secret));
  }

  /** `alg: none`: an unsigned token that must never be accepted. */
  unsignedToken(claims: Record<string, unknown> = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const body = { iss: this.issuer, aud: AUDIENCE, sub: 'mallory', iat: now, exp: now + 300, ...claims };
    return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(body)}.`;
  }
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
