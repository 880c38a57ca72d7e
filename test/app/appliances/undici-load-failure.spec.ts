/**
 * undici is loaded on an appliance's first request (src/common/load-undici.ts). A load that fails is not kept: that
 * request is refused as unavailable with nothing sent, and the next one loads again. The failure is simulated (a
 * mock of the loader that throws EMFILE once): running a process out of file descriptors at exactly that moment is
 * not something a test can do reliably here. Everything else is real: the client, the simulator, HTTP on loopback.
 */
import { jest } from '@jest/globals';
import pino from 'pino';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { WebhookReceiver } from '../../support/webhook-receiver.js';

let failuresLeft = 0;
/** Calls of the loader: a pool or agent is made only through it. */
let loads = 0;
jest.unstable_mockModule('../../../src/common/load-undici.js', () => ({
  loadUndici: async () => {
    loads++;
    if (failuresLeft > 0) {
      failuresLeft--;
      throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
    }
    return (await import('undici')).default;
  },
}));
const { VapiClient } = await import('../../../src/appliances/vapi-client.js');
const { parseConfig } = await import('../../../src/config/load-config.js');
const { createLogger } = await import('../../../src/logging/logger.js');
const { GatewayMetrics } = await import('../../../src/metrics/gateway-metrics.js');
const { WebhookSender } = await import('../../../src/notifications/webhook-sender.js');

const USER = 'svc@vsphere.local';
const PASSWORD = 'Appl1ance-pw';

describe('an appliance client whose undici load fails', () => {
  let sim: ApplianceSimulator;
  beforeEach(async () => {
    sim = new ApplianceSimulator({ username: USER, password: PASSWORD });
    await sim.start();
  });
  afterEach(async () => sim.stop());

  function client(): InstanceType<typeof VapiClient> {
    const config = parseConfig(
      {
        auth: { apiKeys: [{ id: 'unused', sha256: '0'.repeat(64), scopes: [] }] },
        appliances: [{ id: 'vc-a', url: sim.url, username: USER, password: PASSWORD }],
      },
      {},
    );
    const logger = createLogger('warn', { write: () => undefined } as unknown as pino.DestinationStream);
    return new VapiClient(config.appliances[0], logger, config.breaker, config.limits, new GatewayMetrics(config));
  }

  it('refuses the run with nothing sent, then runs on the next call', async () => {
    const vc = client();
    failuresLeft = 1;
    await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      status: 503,
      details: { appliance: 'vc-a', retryAfter: 5 },
    });
    expect(sim.requests).toEqual([]);
    const job = await vc.runSchedule('default', undefined);
    expect(job.state).toBeDefined();
    expect(sim.counters.runs).toBe(1);
    await vc.close(0);
  });

  it('closes a client whose only load failed without making a pool', async () => {
    const vc = client();
    failuresLeft = 1;
    await expect(vc.listJobs()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    const before = loads;
    await expect(vc.close(0)).resolves.toBeUndefined();
    expect(loads).toBe(before);
    expect(sim.requests).toEqual([]);
  });

  it('closes a client never used without loading anything', async () => {
    const before = loads;
    await client().close(0);
    expect(loads).toBe(before);
  });
});

describe('a webhook sender whose undici load fails', () => {
  it('reports the attempt as failed, with nothing sent, and delivers on the next one', async () => {
    const receiver = await new WebhookReceiver().start();
    const sender = new WebhookSender();
    try {
      failuresLeft = 1;
      const message = { id: 'msg_load_failure', body: '{"type":"com.backupgateway.test"}' };
      expect(await sender.send(receiver.url, receiver.secret, message)).toEqual({
        ok: false,
        status: null,
        error: 'EMFILE: EMFILE: too many open files',
      });
      expect(receiver.deliveries).toEqual([]);
      expect(await sender.send(receiver.url, receiver.secret, message)).toEqual({ ok: true, status: 200 });
      expect(receiver.deliveries).toHaveLength(1);
    } finally {
      await sender.close();
      await receiver.stop();
    }
  });
});
