import request from 'supertest';
import { startWorld, World } from '../../support/fixture.js';

/** Tokens the identity provider really signed, that must still be refused. */
describe('tokens', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());

  const schedules = (token: string) =>
    request(world.gateway.url).get('/appliances/vc-a/backups/schedules').set('authorization', `Bearer ${token}`);

  it('a token without exp is refused (RFC 9068 requires it; it would never expire)', async () => {
    const response = await schedules(await world.idp.token({ scope: 'backups:read' }, { withoutExpiry: true }));
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('UNAUTHENTICATED');
    // The same claims with exp pass: the refusal is about exp alone.
    expect((await schedules(await world.idp.token({ scope: 'backups:read' }))).status).toBe(200);
  });

  it('a token naming a critical header extension is refused (RFC 7515 4.1.11), and never remembered', async () => {
    const critical = await world.idp.token(
      { scope: 'backups:read' },
      { header: { crit: ['urn:example:pinned'], 'urn:example:pinned': true } },
    );
    for (let i = 0; i < 2; i++) {
      const response = await schedules(critical);
      expect(response.status).toBe(401);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });
});
