import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER, RUN_AND_READ } from '../../support/fixture.js';
import { startGateway, TestGateway } from '../../support/gateway.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { otherSelfSignedCert, selfSignedCert } from '../../support/self-signed-cert.js';
import { tempDir } from '../../support/temp-dir.js';

/** Appliances with their own (VMCA-style, self-signed) certificates. */
describe('TLS to the appliance', () => {
  let idp: IdentityProvider;
  let sim: ApplianceSimulator;
  /** Plain HTTP, named by an https:// URL: what a wrong scheme or port looks like. */
  let plainSim: ApplianceSimulator;
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
    plainSim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await plainSim.start();
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
        // As `openssl x509 -noout -fingerprint -sha256` prints it (OpenSSL 3, then 1.1), which the README has people run.
        appliance('pinned-openssl', { fingerprint: `sha256 Fingerprint=${fingerprint}` }),
        appliance('pinned-openssl-1.1', { fingerprint: `SHA256 Fingerprint=${fingerprint}` }),
        { ...appliance('https-to-http-port'), url: plainSim.url.replace('http://', 'https://') },
        { ...appliance('https-to-http-port-with-ca', { caFile }), url: plainSim.url.replace('http://', 'https://') },
      ],
    });
  });
  afterAll(async () => {
    await gateway.close();
    await sim.stop();
    await plainSim.stop();
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

  it('gives advice that fits the case, never "configure tls.caFile" to whoever has one or to a plain-HTTP port', async () => {
    const detail = async (id: string) => {
      const response = await run(id);
      expect([response.status, response.body.code]).toEqual([502, 'APPLIANCE_TLS_ERROR']);
      return response.body.detail as string;
    };
    expect(await detail('default-trust')).toMatch(/not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\); configure tls\.caFile/);
    const wrongCa = await detail('wrong-ca');
    expect(wrongCa).toMatch(/not issued by a CA in its tls\.caFile .*must hold the CA that signed it/);
    expect(wrongCa).not.toMatch(/configure tls\.caFile/);
    expect(wrongCa).not.toContain(wrongCaFile); // where the gateway keeps its files is not the caller's to know
    for (const id of ['https-to-http-port', 'https-to-http-port-with-ca']) {
      const plain = await detail(id);
      expect(plain).toMatch(
        /did not answer in TLS \(ERR_SSL_\w+\): the URL says https:\/\/ but that port may serve plain HTTP/,
      );
      expect(plain).not.toMatch(/configure tls\.caFile|tls\.caFile/);
    }
    expect(plainSim.counters.requests).toBe(0);
  });

  it.each(['with-ca', 'pinned', 'pinned-lowercase-no-colons', 'insecure', 'pinned-openssl', 'pinned-openssl-1.1'])(
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
