import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { ApplianceSimulator } from '../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER, RUN_AND_READ } from '../support/fixture.js';
import { startGateway, TestGateway } from '../support/gateway.js';
import { IdentityProvider } from '../support/identity-provider.js';
import { otherSelfSignedCert, selfSignedCert } from '../support/self-signed-cert.js';
import { tempDir } from '../support/temp-dir.js';

/** Appliances with their own (VMCA-style, self-signed) certificates. */
describe('TLS to the appliance', () => {
  let idp: IdentityProvider;
  let sim: ApplianceSimulator;
  let auth: string;
  let gateway: TestGateway;
  const dir = tempDir('gw-tls-');
  const cert = selfSignedCert();
  const caFile = join(dir, 'vmca.pem');
  const wrongCaFile = join(dir, 'other.pem');

  beforeAll(async () => {
    writeFileSync(caFile, cert.cert);
    writeFileSync(wrongCaFile, otherSelfSignedCert().cert);
    idp = await new IdentityProvider().start();
    sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD, tls: cert });
    await sim.start();
    auth = `Bearer ${await idp.token(RUN_AND_READ)}`;
    const fingerprint = new X509Certificate(cert.cert).fingerprint256;
    const wrongFingerprint = new X509Certificate(otherSelfSignedCert().cert).fingerprint256;
    const appliance = (id: string, tls?: Record<string, unknown>) => ({
      id,
      url: sim.url,
      username: APPLIANCE_USER,
      password: APPLIANCE_PASSWORD,
      tls,
    });
    gateway = await startGateway({
      auth: { jwt: idp.jwtConfig() },
      appliances: [
        appliance('default-trust'),
        appliance('with-ca', { caFile }),
        appliance('wrong-ca', { caFile: wrongCaFile }),
        appliance('pinned', { fingerprint }),
        appliance('pinned-lowercase-no-colons', { fingerprint: fingerprint.replaceAll(':', '').toLowerCase() }),
        appliance('wrong-pin', { fingerprint: wrongFingerprint }),
        appliance('insecure', { insecure: true }),
      ],
    });
  });
  afterAll(async () => {
    await gateway.close();
    await sim.stop();
    await idp.stop();
  });
  afterEach(() => sim.finishRunningJobs());

  const run = (id: string) =>
    request(gateway.url).post(`/appliances/${id}/backups/schedules/default/run`).set('authorization', auth);

  it.each(['default-trust', 'wrong-ca', 'wrong-pin'])(
    'refuses the self-signed certificate (%s): 502 APPLIANCE_TLS_ERROR, nothing sent',
    async (id) => {
      const before = sim.counters.requests;
      const response = await run(id);
      expect(response.status).toBe(502);
      expect(response.body.code).toBe('APPLIANCE_TLS_ERROR');
      expect(sim.counters.requests).toBe(before);
    },
  );

  it('says a pin mismatch is a pin mismatch', async () => {
    const response = await run('wrong-pin');
    expect(response.body.detail).toMatch(/pinned fingerprint/);
  });

  it.each(['with-ca', 'pinned', 'pinned-lowercase-no-colons', 'insecure'])(
    'accepts it when trusted (%s)',
    async (id) => {
      const response = await run(id);
      expect(response.status).toBe(202);
    },
  );

  it('warns at start-up about an appliance without TLS verification', () => {
    const warning = gateway.logs
      .map((line) => JSON.parse(line))
      .find((entry) => entry.appliance === 'insecure' && entry.level === 'warn');
    expect(warning?.msg).toMatch(/TLS verification is OFF/);
  });
});
