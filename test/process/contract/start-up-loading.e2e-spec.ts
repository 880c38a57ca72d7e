/**
 * What the built gateway loads to start, against what it loads when first used. undici (the appliances' and the
 * webhooks' HTTP client, 750 KB of the bundle) is loaded on the first request that needs it, not at start-up
 * (src/common/load-undici.ts). The bundle puts packages in chunks whose names it chooses, so a chunk is known by its
 * source map: the sources it was built from.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { assertBuildIsFresh } from '../../support/built.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { APPLIANCE_ENV, processDocument, stopGateway } from '../../support/gateway-processes.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { tempDir } from '../../support/temp-dir.js';

const PRELOAD = resolve('tools/loaded-files.mjs');

/** The packages (under node_modules/) of which the built files a process loaded hold code. */
function packagesIn(files: string[]): Set<string> {
  const packages = new Set<string>();
  for (const file of files.filter((f) => f.startsWith(resolve('dist')) && existsSync(`${f}.map`))) {
    const { sources } = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
    for (const source of sources) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source);
      if (match) packages.add(match[1]);
    }
  }
  return packages;
}

describe('the built gateway loads undici on first use', () => {
  let idp: IdentityProvider;
  let sim: ApplianceSimulator;
  let configPath: string;

  beforeAll(async () => {
    assertBuildIsFresh('dist/main.js');
    idp = await new IdentityProvider().start();
    sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await sim.start();
    // Background probes are off (writeConfig): only the test's own request reaches the appliance.
    configPath = writeConfig(processDocument(idp, { 'vc-a': sim }));
  });
  afterAll(async () => {
    await sim?.stop();
    await idp?.stop();
  });

  /** Starts a gateway, does `work` with it, stops it (SIGTERM): the packages of the built files it had loaded. */
  async function loadedPackages(work: (url: string) => Promise<void>): Promise<Set<string>> {
    const out = join(tempDir('loaded-files-'), 'loaded.json');
    const gateway = await spawnGateway(configPath, {
      ...APPLIANCE_ENV,
      NODE_OPTIONS: `--import=${PRELOAD}`,
      LOADED_FILES_OUT: out,
    });
    try {
      await work(gateway.url);
    } finally {
      await stopGateway(gateway);
    }
    return packagesIn(JSON.parse(readFileSync(out, 'utf8')) as string[]);
  }

  it('is not loaded to start and answer readiness', async () => {
    const packages = await loadedPackages(async () => undefined);
    expect(packages).toContain('fastify'); // the source maps were read
    expect(packages).not.toContain('undici');
  }, 30_000);

  it('is loaded by the first request to an appliance', async () => {
    const token = await idp.token({ scope: 'backups:read' });
    const packages = await loadedPackages(async (url) => {
      const response = await fetch(`${url}/appliances/vc-a/backups/schedules`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
    });
    expect(packages).toContain('undici');
  }, 30_000);
});
