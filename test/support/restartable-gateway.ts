import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { ApplianceSimulator } from '../../tools/simulator/appliance-simulator.js';
import { assertBuildIsFresh } from './built.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from './fixture.js';
import { type GatewayProcess, spawnGateway, writeConfig } from './gateway-process.js';
import { APPLIANCE_ENV, processDocument, stopGateway } from './gateway-processes.js';
import { IdentityProvider } from './identity-provider.js';

export interface RestartableGateway {
  idp: IdentityProvider;
  /** Jobs end at once, so no run is refused for another one in progress. */
  sim: ApplianceSimulator;
  /** The config file; its directory holds the default SQLite audit database and spool. */
  configPath: string;
  /** A new `node dist/main.js` on the same config and files, ready (every one is SIGKILLed after the suite). */
  start(): Promise<GatewayProcess>;
}

/**
 * The world of the crash tests: one identity provider, one simulated appliance and one config, shared by every
 * gateway process the suite starts, kills and starts again. Registers its own beforeAll/afterAll: call it once,
 * inside the describe, and read its fields inside tests.
 */
export function restartableGateway(): RestartableGateway {
  const gateways: GatewayProcess[] = [];
  const world = {
    async start(): Promise<GatewayProcess> {
      const gateway = await spawnGateway(world.configPath, APPLIANCE_ENV);
      gateways.push(gateway);
      expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(200);
      return gateway;
    },
  } as RestartableGateway;

  beforeAll(async () => {
    assertBuildIsFresh('dist/main.js');
    world.idp = await new IdentityProvider().start();
    world.sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD, jobDurationMs: 0 });
    await world.sim.start();
    world.configPath = writeConfig(processDocument(world.idp, { 'vc-a': world.sim }));
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => stopGateway(gateway, 'SIGKILL')));
    await world.sim?.stop();
    await world.idp?.stop();
    if (world.configPath) rmSync(dirname(world.configPath), { recursive: true, force: true });
  });
  return world;
}
