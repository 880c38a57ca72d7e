import { createHash } from 'node:crypto';
import { type ProbeApp, startProbeApp } from '../../support/probe-app.js';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** The real key of the scheduler account, and a different string whose SHA-256 starts with the same three bytes. */
const KEY = 'gw-test-key-2d7f1c9a';
const SAME_DIGEST_PREFIX = 'not-the-key-69703582';

/** API keys as service accounts present them (X-API-Key), through passport and the gateway's guards. */
describe('API keys', () => {
  let probe: ProbeApp;

  beforeAll(async () => {
    probe = await startProbeApp({
      apiKeys: [
        { id: 'scheduler', name: 'Nightly scheduler', sha256: sha256(KEY), scopes: ['backups:run', 'backups:read'] },
        // Upper-case hex is how some tools print digests; it is the same digest.
        { id: 'reader', sha256: sha256('reader-key').toUpperCase(), scopes: ['backups:read:vc-a'] },
        // The same key listed twice (a copy-paste): the first entry decides.
        { id: 'duplicate', sha256: sha256(KEY), scopes: [] },
      ],
    });
  });
  afterAll(() => probe.close());

  const whoami = (key: string) => probe.request({ url: '/whoami', headers: { 'x-api-key': key } });

  it('a configured key authenticates as its service account, with exactly its scopes', async () => {
    const response = await whoami(KEY);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      caller: 'apikey:scheduler',
      name: 'Nightly scheduler',
      clientId: 'scheduler',
      authMethod: 'apiKey',
      scopes: ['backups:read', 'backups:run'],
    });
  });

  it('every configured key is checked, not only the first; an unnamed account is named by its id', async () => {
    const response = await whoami('reader-key');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      caller: 'apikey:reader',
      name: 'reader',
      clientId: 'reader',
      authMethod: 'apiKey',
      scopes: ['backups:read:vc-a'],
    });
  });

  it('the header name is case-insensitive and the key is taken whole, with no prefix scheme', async () => {
    const response = await probe.request({ url: '/whoami', headers: { 'X-API-KEY': KEY } });
    expect(response.statusCode).toBe(200);
  });

  it.each([
    ['a key whose SHA-256 shares its first bytes with a configured digest', SAME_DIGEST_PREFIX],
    ['a prefix of a configured key', KEY.slice(0, -1)],
    ['a configured key with more after it', `${KEY}x`],
    ['a configured key with its case changed', KEY.toUpperCase()],
    ['the configured digest itself', sha256(KEY)],
  ])('refuses %s: 401, invalid_token', async (_name, key) => {
    const response = await whoami(key);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({
      code: 'UNAUTHENTICATED',
      status: 401,
      detail: 'Send a valid access token (Authorization: Bearer <token>) or API key (X-API-Key).',
    });
    expect(response.headers['www-authenticate']).toBe('Bearer realm="backup-gateway", error="invalid_token"');
  });

  it('the near miss really shares a digest prefix (or the test above would prove nothing)', () => {
    expect(sha256(SAME_DIGEST_PREFIX).slice(0, 6)).toBe(sha256(KEY).slice(0, 6));
    expect(sha256(SAME_DIGEST_PREFIX)).not.toBe(sha256(KEY));
  });

  it('no credentials at all: 401 with a bare Bearer challenge', async () => {
    const response = await probe.request({ url: '/whoami' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="backup-gateway"');
  });

  it('an empty key is no key', async () => {
    const response = await whoami('');
    expect(response.statusCode).toBe(401);
  });

  it('@Public routes need no credentials', async () => {
    const response = await probe.request({ url: '/health' });
    expect(response.statusCode).toBe(200);
  });
});
