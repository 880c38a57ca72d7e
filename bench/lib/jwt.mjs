// The callers' identity provider for the benchmark: an RS256 key pair, a JWKS on loopback
// (served from the driver: the gateway and the floor fetch it once and cache it), and tokens.
import crypto from 'node:crypto';
import http from 'node:http';
import { SignJWT } from 'jose';

export const AUDIENCE = 'urn:backup-gateway:bench';
const KID = 'bench-rs-1';

export async function startIdentityProvider() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };
  let fetches = 0;
  const server = http.createServer((req, res) => {
    fetches += 1;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const issuer = `${base}/idp`;
  return {
    issuer,
    audience: AUDIENCE,
    jwksUri: `${base}/jwks`,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }),
    get fetches() {
      return fetches;
    },
    /** An access token as an OpenID provider issues it (RFC 9068 at+jwt). */
    token: ({ scope = 'backups:run backups:read', expiresInSeconds = 3600 } = {}) =>
      new SignJWT({ scope, client_id: 'bench-client' })
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: KID })
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setSubject('bench-client')
        .setIssuedAt()
        .setExpirationTime(`${expiresInSeconds}s`)
        .sign(privateKey),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
