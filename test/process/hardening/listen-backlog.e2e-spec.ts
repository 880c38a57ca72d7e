/**
 * `listenBacklog`: how many connections the kernel completes for the gateway while it is too busy to accept them.
 * A gateway that does not accept at all (SIGSTOP: the event loop as busy as it gets) shows the queue's size: the
 * kernel completes that many connections, and drops the SYNs of the rest until there is room.
 */
import { connect } from 'node:net';
import { type GatewayProcess, spawnGateway, writeConfig } from '../../support/gateway-process.js';

const APPLIANCE = { id: 'vc-a', url: 'http://127.0.0.1:9', username: 'u', password: 'p' };
const AUTH = { apiKeys: [{ id: 'nobody', sha256: 'a'.repeat(64), scopes: ['backups:read'] }] };

/** How many of `count` connections complete within `waitMs` (a dropped SYN is only retried after 1 s). */
async function completed(url: string, count: number, waitMs = 600): Promise<number> {
  const { hostname, port } = new URL(url);
  const sockets = Array.from({ length: count }, () => connect({ host: hostname, port: Number(port) }));
  const connected = sockets.map(
    (socket) =>
      new Promise<boolean>((resolve) => {
        socket.once('connect', () => resolve(true));
        socket.once('error', () => resolve(false));
        setTimeout(() => resolve(false), waitMs);
      }),
  );
  const results = await Promise.all(connected);
  for (const socket of sockets) socket.destroy();
  return results.filter(Boolean).length;
}

async function stalled<T>(gateway: GatewayProcess, work: () => Promise<T>): Promise<T> {
  gateway.child.kill('SIGSTOP');
  try {
    return await work();
  } finally {
    gateway.child.kill('SIGCONT');
  }
}

describe('listenBacklog', () => {
  let gateway: GatewayProcess | undefined;
  afterEach(async () => {
    gateway?.child.kill('SIGKILL');
    await gateway?.exited;
    gateway = undefined;
  });

  it('holds as many waiting connections as configured: a small queue drops the rest', async () => {
    const started = await spawnGateway(writeConfig({ auth: AUTH, appliances: [APPLIANCE], listenBacklog: 2 }));
    gateway = started;
    const count = await stalled(started, () => completed(started.url, 40));
    // Linux completes backlog + 1; other kernels may differ by one.
    expect(count).toBeGreaterThanOrEqual(1);
    expect(count).toBeLessThanOrEqual(4);
  });

  it('by default holds a burst far larger than Node’s own default would (511)', async () => {
    const started = await spawnGateway(writeConfig({ auth: AUTH, appliances: [APPLIANCE] }));
    gateway = started;
    expect(await stalled(started, () => completed(started.url, 600))).toBe(600);
  });

  it('refuses a value that is not a positive whole number, naming the key', async () => {
    gateway = await spawnGateway(writeConfig({ auth: AUTH, appliances: [APPLIANCE], listenBacklog: 0 }), {}, false);
    expect(await gateway.exited).toBe(2);
    expect(gateway.output()).toContain('listenBacklog');
  });
});
