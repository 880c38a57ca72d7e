/**
 * The production dependency tree, started for real: dist/ with `npm ci --omit=dev` in a scratch directory, run as
 * the image runs it (`node dist/main.js`, working directory = the app, SQLite audit under data/), on config/demo.yaml
 * in front of two simulated appliances.
 *
 * Not part of `npm test`: the install compiles better-sqlite3 (about 1.5 minutes of one core). `npm run
 * test:production-tree` runs it; CI runs it on the image's Node beside the Node 24 tests (.ci/run), which is why the
 * install runs at the lowest priority.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { imageNodeVersion } from '../../support/dockerfile.js';
import { freePort } from '../../support/gateway-process.js';
import {
  copyBuiltProject,
  installedPackages,
  installProductionTree,
  unsupportedOn,
} from '../../support/production-tree.js';
import { tempDir } from '../../support/temp-dir.js';

const DEMO_API_KEY = 'demo-key-not-a-secret'; // its SHA-256 is in config/demo.yaml
const USER = 'backup-svc@vsphere.local';
const PASSWORD = 'prod-tree-test-password';

describe('the production dependency tree (npm ci --omit=dev)', () => {
  const app = tempDir('gw-prod-tree-');
  let sims: ApplianceSimulator[] = [];
  let gateway: ChildProcess | undefined;
  let output = '';
  let url = '';

  beforeAll(async () => {
    copyBuiltProject(app);
    await installProductionTree(app);
    sims = [0, 1].map(() => new ApplianceSimulator({ username: USER, password: PASSWORD }));
    await Promise.all(sims.map((sim) => sim.start()));
  }, 600_000);

  afterAll(async () => {
    if (gateway && gateway.exitCode === null) gateway.kill('SIGKILL');
    await Promise.all(sims.map((sim) => sim.stop()));
    rmSync(app, { recursive: true, force: true });
  });

  it('holds the runtime dependencies and none of the build and test tools', () => {
    const names = new Set(installedPackages(join(app, 'node_modules')).map((pkg) => pkg.name));
    expect(['@nestjs/core', 'better-sqlite3', 'pg'].filter((name) => !names.has(name))).toEqual([]);
    expect(
      ['jest', '@nestjs/cli', '@swc/core', 'supertest', '@biomejs/biome'].filter((name) => names.has(name)),
    ).toEqual([]);
  });

  it("supports the image's Node: no package declares an engines.node that excludes it (no EBADENGINE)", () => {
    const node = imageNodeVersion();
    expect(unsupportedOn(node, installedPackages(join(app, 'node_modules')))).toEqual([]);
  });

  it('starts on config/demo.yaml, is ready, accepts a run with the API key, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    gateway = spawn(process.execPath, ['dist/main.js'], {
      cwd: app, // as in the image: relative paths (data/…) resolve inside the app
      env: {
        PATH: process.env.PATH,
        GATEWAY_CONFIG: resolve('config/demo.yaml'),
        PORT: String(port),
        DEMO_VC_A_URL: sims[0].url,
        DEMO_VC_B_URL: sims[1].url,
        DEMO_VC_USER: USER,
        DEMO_VC_PASSWORD: PASSWORD,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    gateway.stdout?.on('data', (chunk) => (output += chunk));
    gateway.stderr?.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((done) => gateway?.on('exit', (code) => done(code)));

    const ready = await readyStatus(url, gateway);
    // With the gateway's output, so that a failed start (ERR_MODULE_NOT_FOUND…) says why.
    if (ready !== 200) throw new Error(`/health/ready answered ${ready || 'nothing'}; gateway output:\n${output}`);

    const run = await request(url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('x-api-key', DEMO_API_KEY)
      .send({ comment: 'production tree test' });
    expect(run.status).toBe(202);
    expect(run.body.job.state).toBe('INPROGRESS');
    await request(url)
      .get(`/appliances/vc-a/backups/jobs/${run.body.job.id}`)
      .set('x-api-key', DEMO_API_KEY)
      .expect(200);
    // The default audit location, created by the gateway itself inside the app directory.
    expect(existsSync(join(app, 'data/demo-audit.db'))).toBe(true);

    gateway.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(sims[0].openSessions()).toBe(0);
  }, 60_000);
});

/** Polls /health/ready until 200, the process exits, or 20 s pass; the last status (0: never answered). */
async function readyStatus(url: string, child: ChildProcess): Promise<number> {
  let status = 0;
  for (let i = 0; i < 200 && child.exitCode === null; i++) {
    status = await fetch(`${url}/health/ready`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  return status;
}
