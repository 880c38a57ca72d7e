import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../../src/config/config-errors.js';
import { parseConfig } from '../../../src/config/load-config.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const ENV = { VC_USER: 'u', VC_PASSWORD: 'p', HOOK_SECRET: SECRET };

const withWebhooks = (webhooks: unknown, extra: Record<string, unknown> = {}) => ({
  auth: { jwt: { issuer: 'https://idp.example', audience: 'urn:gw', jwksUri: 'https://idp.example/jwks' } },
  appliances: [{ id: 'vc-a', url: 'https://vc-a.example', username: '${VC_USER}', password: '${VC_PASSWORD}' }],
  publicUrl: 'https://backup-gateway.example',
  notifications: { webhooks },
  ...extra,
});

function problems(document: unknown, env: NodeJS.ProcessEnv = ENV): string[] {
  try {
    parseConfig(document, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const hook = { id: 'chat-ops', url: 'https://hooks.example/backup', secret: '${HOOK_SECRET}' };

describe('notifications.webhooks in the configuration', () => {
  it('is off when absent or empty, and takes a webhook with its secret from the environment', () => {
    const { notifications: _absent, ...none } = withWebhooks([]);
    expect(parseConfig(none, ENV).notifications.webhooks).toEqual([]);
    expect(problems(withWebhooks([]))).toEqual([]);
    expect(problems(withWebhooks(null))).toEqual([]);
    const config = parseConfig(
      withWebhooks([{ ...hook, events: ['com.backupgateway.job.failed'], tags: ['prod'] }]),
      ENV,
    );
    expect(config.notifications.webhooks[0]).toEqual(
      expect.objectContaining({ id: 'chat-ops', secret: SECRET, events: ['com.backupgateway.job.failed'] }),
    );
  });

  it('says what is wrong in one line each, never with the secret', () => {
    const shortKey = `whsec_${randomBytes(8).toString('base64')}`;
    const found = problems(
      withWebhooks([
        { ...hook, secret: 'not-a-standard-webhooks-secret' },
        { ...hook, id: 'short', secret: '${SHORT}' },
        { ...hook, id: 'short', url: 'ftp://hooks.example', events: ['job.done'] },
        { ...hook, id: 'unset', secret: '${NOT_SET}' },
      ]),
      { ...ENV, SHORT: shortKey },
    );
    expect(found).toEqual([
      'notifications.webhooks[3].secret: environment variable NOT_SET is not set',
      'notifications.webhooks[0].secret: must be a Standard Webhooks secret: whsec_ followed by base64',
      'notifications.webhooks[2].url: must be an http(s) URL',
      expect.stringMatching(
        /^notifications\.webhooks\[2\]\.events: each value must be one of com\.backupgateway\.run\.accepted, /,
      ),
    ]);
    expect(found.join('\n')).not.toContain('not-a-standard-webhooks-secret');
    const crossField = problems(withWebhooks([hook, { ...hook, secret: '${SHORT}' }]), { ...ENV, SHORT: shortKey });
    expect(crossField).toEqual([
      'notifications.webhooks[1].id: duplicate id chat-ops (notifications.webhooks[0] has it; ids must be unique)',
      expect.stringMatching(
        /^notifications\.webhooks\[1\]\.secret: must hold 24 to 64 bytes after whsec_ \(it holds 8\)/,
      ),
    ]);
    expect(crossField.join('\n')).not.toContain(shortKey.slice(6));
  });

  it('refuses a URL with credentials (undici would drop them), without repeating them', () => {
    const found = problems(
      withWebhooks([
        { ...hook, url: 'https://portal-user:Hunter2-webhook-pass@hooks.example/backup' },
        { ...hook, id: 'user-only', url: 'https://portal-user@hooks.example/backup' },
        // An @ in the path is no credential.
        { ...hook, id: 'at-in-path', url: 'https://hooks.example/backup/@team' },
      ]),
    );
    const refused =
      'must not hold credentials (user:password@): they would not be sent; the signature authenticates the gateway';
    expect(found).toEqual([`notifications.webhooks[0].url: ${refused}`, `notifications.webhooks[1].url: ${refused}`]);
    expect(found.join('\n')).not.toContain('Hunter2-webhook-pass');
    expect(found.join('\n')).not.toContain('portal-user');
  });

  it('needs the public URL (the events’ source) and an audit store (the outbox)', () => {
    const { publicUrl: _url, ...noUrl } = withWebhooks([hook]);
    expect(problems(noUrl)).toEqual([
      "publicUrl: required with notifications.webhooks (the gateway's URL, every notification's CloudEvents source)",
    ]);
    expect(problems({ ...noUrl, console: { publicUrl: 'https://gw.example' } })).toEqual([]);
    expect(problems(withWebhooks([hook], { audit: { store: 'off' } }))).toEqual([
      'notifications.webhooks: needs audit.store sqlite or postgres (the notifications wait in its outbox until delivered)',
    ]);
  });
});
