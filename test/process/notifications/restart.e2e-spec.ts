import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { assertBuildIsFresh } from '../../support/built.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { type GatewayProcess, spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { APPLIANCE_ENV, notifyingDocument, processDocument, stopGateway } from '../../support/gateway-processes.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { waitFor } from '../../support/wait-for.js';
import { WebhookReceiver } from '../../support/webhook-receiver.js';

const ACCEPTED = 'com.backupgateway.run.accepted';
const SUCCEEDED = 'com.backupgateway.job.succeeded';

/**
 * The outbox and the followed jobs are in the audit database: a gateway killed (SIGKILL) while its receiver is down
 * and its job still running leaves them there, and the next process delivers the pending notification with the same
 * webhook-id, follows the job on, and announces its end.
 */
describe('notifications across a restart', () => {
  let idp: IdentityProvider;
  let sim: ApplianceSimulator;
  let receiver: WebhookReceiver;
  let configPath: string;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    assertBuildIsFresh('dist/main.js');
    idp = await new IdentityProvider().start();
    // Long enough to kill the first gateway before the job ends.
    sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD, jobDurationMs: 4000 });
    await sim.start();
    receiver = await new WebhookReceiver().start();
    configPath = writeConfig(notifyingDocument(processDocument(idp, { 'vc-a': sim }), receiver));
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => stopGateway(gateway, 'SIGKILL')));
    await receiver?.stop();
    await sim?.stop();
    await idp?.stop();
    if (configPath) rmSync(dirname(configPath), { recursive: true, force: true });
  });

  const start = async () => {
    const gateway = await spawnGateway(configPath, { ...APPLIANCE_ENV, PORTAL_WEBHOOK_SECRET: receiver.secret });
    gateways.push(gateway);
    return gateway;
  };

  it('delivers what was pending, and the end of the job the dead process followed, after a restart', async () => {
    const first = await start();
    receiver.failWith = 503;
    const token = await idp.token({ scope: 'backups:run' });
    const response = await fetch(`${first.url}/appliances/vc-a/backups/schedules/default/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'before-crash', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(202);
    const { job } = (await response.json()) as { job: { id: string } };
    await waitFor(() => receiver.deliveries.length >= 1, 5000);
    // The attempt is recorded as failed (the next one waits its backoff, at least 500 ms) when the process dies.
    await new Promise((resolve) => setTimeout(resolve, 150));
    await stopGateway(first, 'SIGKILL');
    const refused = receiver.deliveries.filter((d) => d.event?.type === ACCEPTED);
    expect(refused.map((d) => d.status)).toEqual(refused.map(() => 503));
    expect(receiver.of(SUCCEEDED)).toEqual([]);

    receiver.failWith = undefined;
    await start();
    await waitFor(() => receiver.of(SUCCEEDED).length === 1, 15_000);
    await waitFor(() => receiver.of(ACCEPTED).some((d) => d.status === 200), 5000);

    const accepted = receiver.of(ACCEPTED);
    expect(new Set(accepted.map((d) => d.webhookId))).toEqual(new Set([refused[0].webhookId]));
    expect(accepted.filter((d) => d.status === 200)).toHaveLength(1);
    const [end] = receiver.of(SUCCEEDED);
    expect(end.event?.data).toEqual(
      expect.objectContaining({ jobId: job.id, requestId: 'before-crash', state: 'SUCCEEDED' }),
    );
    // Nothing is delivered twice.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const delivered = receiver.deliveries.filter((d) => d.status === 200).map((d) => d.webhookId);
    expect(new Set(delivered).size).toBe(delivered.length);
  });
});
