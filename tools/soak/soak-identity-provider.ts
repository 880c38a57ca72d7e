/**
 * The soak's identity provider: an RS256 key pair, its JWKS on loopback, and access tokens signed with jose the way
 * an OpenID provider signs them (RFC 9068 `at+jwt`). Also the tokens a hostile caller brings: signed by a key nobody
 * published, expired, or with no useful scope.
 */
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';

export const SOAK_AUDIENCE = 'urn:backup-gateway:soak';
const KID = 'soak-1';

export interface TokenClaims {
  sub: string;
  scope: string;
}

export class SoakIdentityProvider {
  private readonly key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  /** Same kid, never published: what a forger signs with. */
  private readonly rogue = generateKeyPairSync('rsa', { modulusLength: 2048 });
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    const jwk = { ...this.key.publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get issuer(): string {
    return `${this.url}/idp`;
  }

  get jwksUri(): string {
    return `${this.url}/jwks`;
  }

  /** Valid for `lifetimeSeconds`. */
  token(claims: TokenClaims, lifetimeSeconds: number): Promise<string> {
    return this.sign(claims, this.key.privateKey, lifetimeSeconds);
  }

  /** Looks like ours, same kid, but signed with a key the provider never published. */
  forged(claims: TokenClaims): Promise<string> {
    return this.sign(claims, this.rogue.privateKey, 3600);
  }

  /** Expired an hour ago (far beyond any clock tolerance). */
  expired(claims: TokenClaims): Promise<string> {
    return this.sign(claims, this.key.privateKey, -3600);
  }

  private sign(claims: TokenClaims, key: KeyObject, lifetimeSeconds: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope: claims.scope, client_id: 'soak' })
      .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(SOAK_AUDIENCE)
      .setSubject(claims.sub)
      .setIssuedAt(now - 7200)
      .setExpirationTime(now + lifetimeSeconds)
      .setJti(randomUUID())
      .sign(key);
  }
}
