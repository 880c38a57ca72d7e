/**
 * The configuration as operators meet it: `node dist/main.js` with a YAML file (npm test builds first). A file that
 * cannot work is refused in one line, exit 2, before anything listens; an empty section means its defaults.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { API_KEY, APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { freePort } from '../../support/gateway-process.js';
import { sha256Hex } from '../../support/identity-provider.js';
import { tempDir } from '../../support/temp-dir.js';

const MAIN = resolve('dist/main.js');
const env = { VC_USER: APPLIANCE_USER, VC_PASSWORD: APPLIANCE_PASSWORD };

/** The start of a gateway.yaml: one API key, one appliance; the test adds the rest as YAML text. */
function yaml(applianceUrl: string, rest: string, applianceExtra = ''): string {
  return [
    'host: 127.0.0.1',
    'auth:',
    '  apiKeys:',
    `    - { id: ops, sha256: "${sha256Hex(API_KEY)}", scopes: [backups:run, backups:read] }`,
    'appliances:',
    '  - id: vc-0',
    `    url: ${applianceUrl}`,
    '    username: ${VC_USER}',
    '    password: ${VC_PASSWORD}',
    applianceExtra,
    rest,
  ].join('\n');
}

describe('the gateway process and its configuration file', () => {
  let sim: ApplianceSimulator;
  const dir = tempDir('gw-config-start-');
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await sim.start();
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the built gateway until it exits (a refused start exits at once); stdout and stderr apart. */
  function refusedStart(text: string, port: number) {
    const configFile = join(dir, `refused-${port}.yaml`);
    writeFileSync(configFile, text);
    const result = spawnSync(process.execPath, [MAIN], {
      cwd: dir,
      env: { PATH: process.env.PATH, GATEWAY_CONFIG: configFile, PORT: String(port), ...env },
      encoding: 'utf8',
      // A gateway that wrongly starts is killed outright: on SIGTERM it would log its sessions out on the simulator,
      // which cannot answer while this process waits here.
      timeout: 20_000,
      killSignal: 'SIGKILL',
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  function expectRefusedInOneLine(result: ReturnType<typeof refusedStart>, line: RegExp) {
    expect(result.status).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(line)]);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).not.toMatch(/backup gateway listening/);
  }

  it.each([
    [
      'an audit SQLite path that cannot be created (a file is in the way)',
      () => {
        writeFileSync(join(dir, 'a-file'), 'x');
        return `audit: { sqlite: { path: ${join(dir, 'a-file', 'audit.db')} } }`;
      },
      /^invalid configuration .*: audit\.sqlite\.path: cannot create the directory .*a-file \((EEXIST|ENOTDIR): a file is in the way\)$/,
      () => '',
    ],
    [
      'an audit SQLite path that is a directory',
      () => {
        mkdirSync(join(dir, 'a-directory'), { recursive: true });
        return `audit: { sqlite: { path: ${join(dir, 'a-directory')} } }`;
      },
      /audit\.sqlite\.path: .*a-directory is a directory; name the database file in it/,
      () => '',
    ],
    [
      'an audit SQLite path that is not a SQLite database',
      () => {
        writeFileSync(join(dir, 'notes.txt'), 'not a database, but somebody’s notes');
        return `audit: { sqlite: { path: ${join(dir, 'notes.txt')} } }`;
      },
      /audit\.sqlite\.path: .*notes\.txt is not a SQLite database/,
      () => '',
    ],
    [
      'a caFile that holds no PEM certificate',
      () => {
        writeFileSync(join(dir, 'vmca.pem'), 'paste the certificate here\n');
        return `audit: { sqlite: { path: ${join(dir, 'ca.db')} } }`;
      },
      /appliances\[0\]\.tls\.caFile: .*vmca\.pem holds no PEM certificate/,
      () => `    tls: { caFile: ${join(dir, 'vmca.pem')} }`,
    ],
    [
      'requestTimeoutMs below headersTimeoutMs (Node would throw ERR_OUT_OF_RANGE)',
      () => `requestTimeoutMs: 2000\naudit: { sqlite: { path: ${join(dir, 'timeouts.db')} } }`,
      /: requestTimeoutMs: must be at least headersTimeoutMs \(10000\)/,
      () => '',
    ],
  ])('refuses %s: exit 2, one line on stderr, no stack trace', async (_case, rest, line, appliance) => {
    const result = refusedStart(yaml(sim.url, rest(), appliance()), await freePort());
    expectRefusedInOneLine(result, line);
    expect(result.stderr).not.toMatch(/ERR_OUT_OF_RANGE|EEXIST: file already exists/);
  });

  it('refuses a port already in use, naming it and how to choose another', async () => {
    const port = await freePort();
    const taken: Server = createServer();
    await new Promise<void>((done) => taken.listen(port, '127.0.0.1', done));
    try {
      const result = refusedStart(yaml(sim.url, `audit: { sqlite: { path: ${join(dir, 'port.db')} } }`), port);
      expectRefusedInOneLine(
        result,
        new RegExp(`^cannot listen: port ${port} on 127\\.0\\.0\\.1 is already in use .*e\\.g\\. PORT=${port + 1}`),
      );
      const metrics = `metrics: { port: ${port} }\naudit: { sqlite: { path: ${join(dir, 'metrics-port.db')} } }`;
      expectRefusedInOneLine(
        refusedStart(yaml(sim.url, metrics), await freePort()),
        new RegExp(
          `^cannot listen: metrics\\.port ${port} on 127\\.0\\.0\\.1 is already in use .*another metrics\\.port`,
        ),
      );
    } finally {
      await new Promise((done) => taken.close(done));
    }
  });

  it('starts with every section left empty (their defaults), runs with an Idempotency-Key, keeps its audit file 0600', async () => {
    const cwd = join(dir, 'empty-sections');
    mkdirSync(cwd);
    const empty = (section: string) => `${section}:\n  # every key commented out`;
    const text = yaml(
      sim.url,
      [
        ...['limits', 'breaker', 'rateLimit', 'cors', 'metrics', 'console', 'logging', 'fleet', 'jobs'].map(empty),
        'idempotency:',
        // The default path (data/audit.db) is relative: it lands in this test's own working directory.
        'audit:',
        '  sqlite:',
        '    # path: data/audit.db',
      ].join('\n'),
      empty('    tls'),
    );
    const configFile = join(cwd, 'gateway.yaml');
    writeFileSync(configFile, text);
    const port = await freePort();
    let output = '';
    const child = spawn(process.execPath, [MAIN], {
      cwd,
      env: { PATH: process.env.PATH, GATEWAY_CONFIG: configFile, PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    const exited = new Promise((done) => child.once('exit', done));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 150 && child.exitCode === null; i++) {
      const ready = await fetch(`${url}/health/ready`).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ready) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    try {
      expect(child.exitCode).toBeNull();
      const run = () =>
        request(url)
          .post('/appliances/vc-0/backups/schedules/default/run')
          .set('x-api-key', API_KEY)
          .set('idempotency-key', 'empty-sections-run-1');
      const first = await run();
      expect(first.status).toBe(202);
      const replay = await run();
      expect(replay.status).toBe(202);
      expect(replay.body).toEqual(first.body);
      expect((await request(url).get('/appliances').set('x-api-key', API_KEY)).status).toBe(200);

      // The trail names callers and appliances: like the spool, for the gateway's user only (-wal and -shm too).
      const data = join(cwd, 'data');
      const files = readdirSync(data).filter((name) => name.startsWith('audit.db'));
      expect(files).toEqual(expect.arrayContaining(['audit.db', 'audit.db-wal', 'audit.db-shm']));
      for (const name of files) expect([name, statSync(join(data, name)).mode & 0o777]).toEqual([name, 0o600]);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- gateway output ---\n${output}`);
    } finally {
      child.kill('SIGTERM');
      await exited;
      sim.finishRunningJobs();
    }
  });
});
