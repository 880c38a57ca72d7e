import 'reflect-metadata';
import { resolve } from 'node:path';
import { loadConfig } from '../config/load-config.js';
import { serve } from '../serve.js';
import { ApplianceSimulator } from '../simulator/appliance-simulator.js';

/**
 * `npm run demo`: two simulated appliances and the gateway in front of them, on the embedded
 * defaults (SQLite audit), with config/demo.yaml. Nothing external is needed.
 */
const DEMO_API_KEY = 'demo-key-not-a-secret'; // its SHA-256 is in config/demo.yaml
const DEMO_USER = 'backup-svc@vsphere.local';
const DEMO_PASSWORD = 'demo-appliance-password';

const appliances = [
  new ApplianceSimulator({ username: DEMO_USER, password: DEMO_PASSWORD, jobDurationMs: 30_000 }),
  new ApplianceSimulator({ username: DEMO_USER, password: DEMO_PASSWORD, jobDurationMs: 30_000 }),
];
await Promise.all(appliances.map((appliance) => appliance.start()));

const config = loadConfig(resolve('config/demo.yaml'), {
  ...process.env,
  DEMO_VC_A_URL: appliances[0].url,
  DEMO_VC_B_URL: appliances[1].url,
  DEMO_VC_USER: DEMO_USER,
  DEMO_VC_PASSWORD: DEMO_PASSWORD,
});
const { port } = await serve(config, {
  afterStop: () => Promise.all(appliances.map((a) => a.stop())).then(() => undefined),
});
const base = `http://localhost:${port}`;

process.stderr.write(`
Backup Gateway demo: two simulated vCenter appliances (vc-a, vc-b) behind the gateway.

  API docs (Swagger UI):  ${base}/docs
  OpenAPI document:       ${base}/docs-json

Trigger a backup on vc-a with the demo API key:

  curl -i -X POST ${base}/appliances/vc-a/backups/schedules/default/run \\
       -H 'X-API-Key: ${DEMO_API_KEY}' -H 'Content-Type: application/json' -d '{"comment":"my first backup"}'

Then follow it (the Location header of the answer):

  curl -s ${base}/appliances/vc-a/backups/jobs/<jobId> -H 'X-API-Key: ${DEMO_API_KEY}'

Ctrl-C stops everything.
`);
