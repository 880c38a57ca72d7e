import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import request from 'supertest';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { type GatewayProcess, spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { IdentityProvider } from '../../support/identity-provider.js';

/** Memory is a property of the gateway process, so these floods hit one as operators run it. */
describe('floods against a gateway process', () => {
  let idp: IdentityProvider;
  let sim: ApplianceSimulator;
  const env = { VC_USER: APPLIANCE_USER, VC_PASSWORD: APPLIANCE_PASSWORD };

  beforeAll(async () => {
    idp = await new IdentityProvider().start();
    sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
    await idp.stop();
  });

  const document = (extra: Record<string, unknown> = {}) => ({
    auth: { jwt: idp.jwtConfig() },
    appliances: [{ id: 'vc-a', url: sim.url, username: '${VC_USER}', password: '${VC_PASSWORD}' }],
    logging: { level: 'warn' },
    ...extra,
  });

  const rssMb = (gateway: GatewayProcess) =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gateway.child.pid}/status`, 'utf8'))?.[1]) / 1024;

  it('20 sockets pipelining 10,000 requests each: memory stays well under 300 MB, others are served', async () => {
    const gateway = await spawnGateway(writeConfig(document()), env);
    try {
      const token = await idp.token({ sub: 'flooder', scope: 'backups:read' });
      const { port } = new URL(gateway.url);
      const pipelined =
        `GET /appliances/vc-a/backups/schedules HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${token}\r\n\r\n`.repeat(
          5000,
        );
      let peak = rssMb(gateway);
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMb(gateway));
      }, 20);
      const sockets = Array.from({ length: 20 }, () => {
        const socket = connect(Number(port), '127.0.0.1');
        socket.on('error', () => undefined);
        socket.write(pipelined);
        socket.write(pipelined);
        return socket;
      });
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const bystander = await idp.token({ sub: 'bystander', scope: 'backups:read' });
      const served = await request(gateway.url)
        .get('/appliances/vc-a/backups/schedules')
        .set('authorization', `Bearer ${bystander}`);
      clearInterval(sampler);
      for (const socket of sockets) socket.destroy();
      expect(served.status).toBe(200);
      expect(peak).toBeLessThan(300);
      expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
    } finally {
      gateway.child.kill('SIGKILL');
    }
  });

  it('a pipelining client within the limit is answered in order; over it, 503 OVERLOADED then the connection closes', async () => {
    const gateway = await spawnGateway(writeConfig(document({ limits: { maxInFlightPerConnection: 4 } })), env);
    try {
      const { port } = new URL(gateway.url);
      const text = await new Promise<string>((resolve) => {
        let received = '';
        const socket = connect(Number(port), '127.0.0.1');
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          received += chunk;
        });
        socket.on('close', () => resolve(received));
        socket.write('GET /health/live HTTP/1.1\r\nHost: gateway\r\n\r\n'.repeat(6));
      });
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      expect(statuses).toEqual([200, 200, 200, 200, 503]);
      expect(text).toMatch(/"code":"OVERLOADED"/);
    } finally {
      gateway.child.kill('SIGKILL');
    }
  });

  it('under pressure (heap over limits.maxHeapUsedMb) requests are shed with 503 + Retry-After; health is not', async () => {
    const gateway = await spawnGateway(writeConfig(document({ limits: { maxHeapUsedMb: 1 } })), env, false);
    try {
      // Readiness is never shed, so it tells when the process listens; the heap is sampled every second after.
      for (
        let i = 0;
        i < 100 && (await fetch(`${gateway.url}/health/live`).catch(() => undefined))?.status !== 200;
        i++
      ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      let shed: Response | undefined;
      for (let i = 0; i < 100 && shed?.status !== 503; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        shed = await fetch(`${gateway.url}/appliances`);
      }
      expect(shed?.status).toBe(503);
      expect(shed?.headers.get('retry-after')).toBe('2');
      const problem = (await shed?.json()) as { code: string } | undefined;
      expect(problem?.code).toBe('OVERLOADED');
      expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
    } finally {
      gateway.child.kill('SIGKILL');
    }
  });
});
