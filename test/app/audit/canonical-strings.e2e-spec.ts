import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { type AuditClient, auditClient } from '../../support/audit-client.js';
import { startWorld, type World } from '../../support/fixture.js';
import { dropSchema, freshSchema } from '../../support/postgres.js';
import { waitFor } from '../../support/wait-for.js';

/**
 * Text a caller controls (a run's comment, an identity provider's `sub` and `name`) reaches the audit trail as
 * JavaScript strings, which may hold what no store keeps: a lone UTF-16 surrogate (JSON's `"\ud800"` escape, or a
 * comment cut in the middle of an emoji), or U+0000. Whatever arrives, the entry must be stored and read back as it
 * was hashed, or /audit/verify reports a broken chain forever; and nothing may stay unwritable and retried forever.
 */
const postgresUrl = process.env.AUDIT_TEST_POSTGRES_URL;
const stores = [
  { name: 'SQLite', postgres: false },
  ...(postgresUrl || process.env.CI ? [{ name: 'PostgreSQL', postgres: true }] : []),
];

describe.each(stores)('strings a caller controls, in the audit trail ($name)', ({ postgres }) => {
  let world: World;
  let audit: AuditClient;
  const schema = freshSchema('audit_text');

  beforeAll(async () => {
    if (postgres && !postgresUrl) throw new Error('AUDIT_TEST_POSTGRES_URL is not set although CI is');
    const store = postgres ? { audit: { store: 'postgres', postgres: { url: postgresUrl, schema } } } : {};
    world = await startWorld({ extra: store });
    audit = auditClient(world.gateway.url, `Bearer ${await world.idp.token({ sub: 'auditor', scope: 'audit:read' })}`);
  });
  afterAll(async () => {
    await world.stop();
    if (postgres && postgresUrl) await dropSchema(postgresUrl, schema);
    else rmSync(dirname(world.gateway.config.audit.sqlite.path), { recursive: true, force: true });
  });

  /** A raw JSON body, so that escapes such as `\ud800` reach the gateway as they were typed. */
  const fleetRun = (token: string, requestId: string, json: string) =>
    fetch(`${world.gateway.url}/backups/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': requestId },
      body: json,
    });

  const entriesOf = async (requestId: string) => {
    await waitFor(async () => (await audit.forRequest(requestId)).all.length > 0);
    return (await audit.forRequest(requestId)).all;
  };

  it('a comment holding a lone surrogate or NUL is refused at the door (400), before any entry, and the chain verifies', async () => {
    // The run path never sees such a body now; the stores' own canonical form (canonical-strings.property.spec)
    // covers whatever text still arrives another way.
    const noRunScope = await world.idp.token({ sub: 'reader', scope: 'backups:read' });
    for (const [requestId, comment] of [
      ['lone-surrogate', 'before \\ud800 after'],
      ['nul', 'before \\u0000 after'],
    ]) {
      const response = await fleetRun(
        noRunScope,
        requestId,
        `{"schedule":"default","appliances":["vc-a"],"comment":"${comment}"}`,
      );
      expect(response.status).toBe(400);
      expect(((await response.json()) as { code: string }).code).toBe('VALIDATION_FAILED');
      expect((await audit.forRequest(requestId)).all).toEqual([]);
    }
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  it('identity-provider claims with lone surrogates and NUL, on a denied and on an accepted run', async () => {
    const claims = { sub: 'eve\udc00', name: 'Eve\u0000 \ud83d' };
    const denied = await world.idp.token({ ...claims, scope: 'backups:run:vc-b' });
    expect((await fleetRun(denied, 'claims-denied', '{"schedule":"default","appliances":["vc-a"]}')).status).toBe(207);
    const allowed = await world.idp.token({ ...claims, scope: 'backups:run' });
    expect((await fleetRun(allowed, 'claims-run', '{"schedule":"default","appliances":["vc-a"]}')).status).toBe(207);

    const entries = [...(await entriesOf('claims-denied.vc-a')), ...(await entriesOf('claims-run.vc-a'))];
    expect(entries.map((e) => [e.stage, e.finalOutcome])).toEqual([
      ['completed', 'denied'],
      ['completed', 'accepted'],
      ['requested', 'accepted'],
    ]);
    for (const entry of entries)
      expect(entry.actor).toMatchObject({ subject: `jwt:${world.idp.issuer}:eve\uFFFD`, name: 'Eve\uFFFD \uFFFD' });
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  it('the longest emoji comment the body allows is stored whole on the refusal path, exactly at the field limit', async () => {
    // 1,000 characters (the body's limit counts code points) of 2 UTF-16 units each: the audit field's 2,000 units.
    // A longer one cannot come through the API; cutting one is audit-draft.spec's test.
    const comment = '😀'.repeat(1000);
    const noRunScope = await world.idp.token({ sub: 'reader', scope: 'backups:read' });
    const body = JSON.stringify({ schedule: 'default', appliances: ['vc-a'], comment });
    expect((await fleetRun(noRunScope, 'emoji', body)).status).toBe(403);
    const [denied] = await entriesOf('emoji');
    expect(denied.comment).toBe(comment);
    expect(await audit.verify()).toMatchObject({ ok: true });
  });
});
