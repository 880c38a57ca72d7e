import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { API_KEY, APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { freePort, writeConfig } from '../../support/gateway-process.js';
import { sha256Hex } from '../../support/identity-provider.js';
import { waitFor } from '../../support/wait-for.js';

/** Every process below `pid` (npm, the shell it may start, node), from ps. */
function descendants(pid: number): { pid: number; args: string }[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([, child, parent, args]) => ({ pid: Number(child), ppid: Number(parent), args }));
  const found: { pid: number; args: string }[] = [];
  const walk = (parent: number) => {
    for (const row of table.filter((r) => r.ppid === parent)) {
      found.push(row);
      walk(row.pid);
    }
  };
  walk(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `npm start` as operators and supervisors meet it: a signal to npm's PID must reach the gateway (drain, appliance
 * sessions logged out), and a signal npm does not pass on (SIGHUP) must not leave the gateway running alone.
 */
describe('npm start and signals sent to npm', () => {
  let appliance: ApplianceSimulator;
  const leftovers = new Set<number>();

  beforeAll(async () => {
    appliance = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await appliance.start();
  });
  afterAll(async () => {
    for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await appliance.stop();
  });

  async function npmStart(): Promise<{ npm: ChildProcess; gateway: number; url: string; output: () => string }> {
    const port = await freePort();
    const config = writeConfig({
      auth: { apiKeys: [{ id: 'cron', sha256: sha256Hex(API_KEY), scopes: ['backups:read'] }] },
      appliances: [{ id: 'vc-a', url: appliance.url, username: APPLIANCE_USER, password: APPLIANCE_PASSWORD }],
    });
    const npm = spawn('npm', ['start'], {
      cwd: process.cwd(),
      env: { ...process.env, GATEWAY_CONFIG: config, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout?.on('data', (chunk) => (output += chunk));
    npm.stderr?.on('data', (chunk) => (output += chunk));
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.status === 200, 20_000);
    // The deepest one: without `exec`, a shell stands between npm and node.
    const gateway = descendants(npm.pid as number).findLast((row) => row.args.includes('dist/main.js'));
    if (!gateway) throw new Error(`no gateway process under npm: ${output}`);
    leftovers.add(gateway.pid);
    // One call to the appliance, so that there is a vAPI session to log out.
    const read = await fetch(`${url}/appliances/vc-a/backups/schedules`, { headers: { 'x-api-key': API_KEY } });
    expect(read.status).toBe(200);
    expect(appliance.openSessions()).toBe(1);
    return { npm, gateway: gateway.pid, url, output: () => output };
  }

  it('kill -TERM on npm: the gateway drains, logs its appliance session out and exits', async () => {
    const { npm, gateway, output } = await npmStart();
    process.kill(npm.pid as number, 'SIGTERM');
    await waitFor(() => !alive(gateway), 15_000);
    expect(output()).toMatch(/"signal":"SIGTERM".*shutting down: finishing in-flight requests/);
    expect(output()).toContain('"msg":"stopped"');
    expect(appliance.openSessions()).toBe(0);
  }, 60_000);

  it('kill -HUP on npm (which npm does not pass on): the gateway stops cleanly instead of running on alone', async () => {
    const { npm, gateway, output } = await npmStart();
    process.kill(npm.pid as number, 'SIGHUP');
    await waitFor(() => !alive(gateway), 15_000);
    expect(output()).toContain('shutting down: finishing in-flight requests');
    expect(output()).toContain('"msg":"stopped"');
    expect(appliance.openSessions()).toBe(0);
  }, 60_000);
});
