/**
 * The bundle (dist/main.js, tools/bundle-gateway.mjs) keeps the names the gateway reads from its own classes. esbuild
 * renames what would clash in a bundle's one scope, and every class tsc decorates does: were our names lost, the
 * OpenAPI document would name its schemas `RunRequest2` and Nest's logs `_InstanceLoader` and `PassportModule2`. The in-process suites
 * run the sources, so only a test of the built gateway can see this.
 */
import { readFileSync } from 'node:fs';
import { type GatewayProcess, spawnGateway, writeConfig } from '../../support/gateway-process.js';

let gateway: GatewayProcess;
beforeAll(async () => {
  const config = writeConfig({
    auth: { apiKeys: [{ id: 'nobody', sha256: 'a'.repeat(64), scopes: ['backups:read'] }] },
    appliances: [{ id: 'vc-a', url: 'http://127.0.0.1:9', username: 'u', password: 'p' }],
    logging: { level: 'info' },
  });
  gateway = await spawnGateway(config);
}, 30_000);
afterAll(async () => {
  gateway.child.kill('SIGTERM');
  await gateway.exited;
});

describe('the bundled gateway', () => {
  it('serves the committed OpenAPI document, schema names included', async () => {
    const served = (await (await fetch(`${gateway.url}/docs-json`)).json()) as { components: { schemas: object } };
    const committed = JSON.parse(readFileSync('openapi.json', 'utf8'));
    expect(Object.keys(served.components.schemas).sort()).toEqual(Object.keys(committed.components.schemas).sort());
    expect(served).toEqual(committed);
  });

  it('logs its modules under their own names', () => {
    const contexts = gateway
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { context?: string; msg?: string })
      .filter((entry) => entry.context === 'InstanceLoader')
      .map((entry) => entry.msg);
    expect(contexts).toEqual(
      expect.arrayContaining([
        'AuditModule dependencies initialized',
        'BackupsModule dependencies initialized',
        'AuthModule dependencies initialized',
      ]),
    );
  });
});
