import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { assertBuildIsFresh } from '../../support/built.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { type GatewayProcess, spawnGateway, writeConfig } from '../../support/gateway-process.js';
import {
  APPLIANCE_ENV,
  burst,
  notifyingDocument,
  processDocument,
  stopGateway,
} from '../../support/gateway-processes.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { describePostgres, dropSchema, freshSchema } from '../../support/postgres.js';
import { waitFor } from '../../support/wait-for.js';
import { WebhookReceiver } from '../../support/webhook-receiver.js';

const RUNS_PER_GATEWAY = 10;

/**
 * Two gateway processes on one PostgreSQL outbox, both delivering and both following jobs: each notification reaches
 * the receiver exactly once (one webhook-id, one delivery), whichever replica recorded it.
 */
describePostgres('notifications from two replicas sharing PostgreSQL', (url) => {
  const schema = freshSchema('notify_replicas');
  let idp: IdentityProvider;
  let sim: ApplianceSimulator;
  let receiver: WebhookReceiver;
  let configPath: string;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    assertBuildIsFresh('dist/main.js');
    idp = await new IdentityProvider().start();
    // Jobs end at once, so every run is accepted however many arrive together.
    sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD, jobDurationMs: 0 });
    await sim.start();
    receiver = await new WebhookReceiver().start();
    configPath = writeConfig(
      notifyingDocument(
        processDocument(idp, { 'vc-a': sim }, { store: 'postgres', postgres: { url, schema } }),
        receiver,
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => stopGateway(gateway)));
    await receiver?.stop();
    await sim?.stop();
    await idp?.stop();
    await dropSchema(url, schema);
    if (configPath) rmSync(dirname(configPath), { recursive: true, force: true });
  });

  it('delivers every event exactly once, whichever replica recorded it', async () => {
    const env = { ...APPLIANCE_ENV, PORTAL_WEBHOOK_SECRET: receiver.secret };
    gateways.push(...(await Promise.all([0, 1].map(() => spawnGateway(configPath, env)))));
    const authorization = `Bearer ${await idp.token({ scope: 'backups:run audit:read' })}`;
    const results = (
      await Promise.all(
        gateways.map(
          (gateway, i) =>
            burst(gateway.url, { count: RUNS_PER_GATEWAY, prefix: `replica${i + 1}`, appliance: 'vc-a', authorization })
              .results,
        ),
      )
    ).flat();
    expect(results.map((r) => r.status)).toEqual(results.map(() => 202));

    const runs = 2 * RUNS_PER_GATEWAY;
    await waitFor(() => receiver.deliveries.length >= 2 * runs, 20_000);
    // Long enough for a second delivery of anything (several poll intervals of both replicas).
    await new Promise((resolve) => setTimeout(resolve, 2000));

    expect(receiver.deliveries.every((d) => d.verified && d.status === 200)).toBe(true);
    const ids = receiver.deliveries.map((d) => d.webhookId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(receiver.of('com.backupgateway.run.accepted')).toHaveLength(runs);
    expect(receiver.of('com.backupgateway.job.succeeded')).toHaveLength(runs);
    const requestIds = receiver.of('com.backupgateway.job.succeeded').map((d) => d.event?.data.requestId);
    expect(new Set(requestIds)).toEqual(new Set(results.map((r) => r.requestId)));

    // Both replicas read the same outbox.
    for (const gateway of gateways) {
      const page = await fetch(`${gateway.url}/notifications/deliveries?state=delivered&limit=500`, {
        headers: { authorization },
      });
      expect(((await page.json()) as { items: unknown[] }).items).toHaveLength(2 * runs);
    }
  });
});
