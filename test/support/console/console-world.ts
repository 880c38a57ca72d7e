/**
 * The console's world: a real OpenID provider, simulated appliances with short jobs, and the gateway in front with
 * the console on (OpenID login and the demo's API-key login), accepting the provider's access tokens through
 * `auth.jwt` exactly as it accepts any bearer token.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../fixture.js';
import { startGateway, type TestGateway } from '../gateway.js';
import { sha256Hex } from '../identity-provider.js';
import {
  API_AUDIENCE,
  CONSOLE_CLIENT_ID,
  CONSOLE_CLIENT_SECRET,
  TestOpenIdProvider,
  type TestUser,
} from './test-openid-provider.js';

/** The lab key of the API-key login path (demo and labs only). */
export const LAB_API_KEY = 'bgk_lab_console_0123456789abcdef0123456789';

export const USERS: Record<string, TestUser> = {
  alice: { password: 'alice-password', name: 'Alice Operator', scopes: ['backups:read', 'backups:run', 'audit:read'] },
  bob: { password: 'bob-password', name: 'Bob Viewer', scopes: ['backups:read'] },
};

export interface ConsoleWorld {
  provider: TestOpenIdProvider;
  appliances: Record<string, ApplianceSimulator>;
  /** Its `url` is the console's `publicUrl`: a loopback port forwarded to the gateway's own. */
  gateway: TestGateway;
  stop(): Promise<void>;
}

export interface ConsoleWorldOptions {
  accessTokenTtl?: number;
  rotateRefreshTokens?: boolean;
  /** Overrides of the gateway's `auth.jwt` section (jwksCacheMaxAgeMs...). */
  jwt?: Record<string, unknown>;
  /** Overrides of the gateway's `console` section. */
  console?: Record<string, unknown>;
  /** Other top-level gateway config (redis...). */
  extra?: Record<string, unknown>;
  jobDurationMs?: number;
  /** More of the gateway's environment (the `${…}` a config names: webhook secrets). */
  env?: Record<string, string>;
}

export async function startConsoleWorld(options: ConsoleWorldOptions = {}): Promise<ConsoleWorld> {
  const provider = await new TestOpenIdProvider({
    users: USERS,
    accessTokenTtl: options.accessTokenTtl,
    rotateRefreshTokens: options.rotateRefreshTokens,
  }).start();
  const appliances: Record<string, ApplianceSimulator> = {};
  for (const id of ['vc-a', 'vc-b']) {
    appliances[id] = new ApplianceSimulator({
      username: APPLIANCE_USER,
      password: APPLIANCE_PASSWORD,
      jobDurationMs: options.jobDurationMs ?? 1500,
    });
    await appliances[id].start();
  }
  // console.oidc needs console.publicUrl, known before the gateway starts on a port of its own choosing.
  const front = await forwarder();
  const gateway = await startGateway(
    {
      auth: {
        jwt: { issuer: provider.issuer, audience: API_AUDIENCE, jwksUri: `${provider.issuer}/jwks`, ...options.jwt },
        apiKeys: [
          { id: 'lab', name: 'Lab key', sha256: sha256Hex(LAB_API_KEY), scopes: ['backups:read', 'backups:run'] },
        ],
      },
      appliances: [
        ...['vc-a', 'vc-b'].map((id) => ({
          id,
          name: `vCenter ${id.slice(3).toUpperCase()}`,
          url: appliances[id].url,
          username: '${VC_USER}',
          password: '${VC_PASSWORD}',
          tags: id === 'vc-a' ? ['prod'] : ['lab'],
          timeoutMs: 2000,
        })),
        // Nothing listens there: the fleet shows it unreachable, a fleet run gets its problem document.
        {
          id: 'vc-c',
          name: 'vCenter C',
          url: 'http://127.0.0.1:9',
          username: 'x',
          password: 'y',
          tags: ['lab'],
          timeoutMs: 1000,
        },
      ],
      jobs: { pollIntervalMs: 200 },
      fleet: { probeTimeoutMs: 500 },
      // The Fleet page shows each appliance's last backup: read 1 s after start, as by default (the test harness
      // turns it off for suites that count what reaches the appliances).
      freshness: { refreshMinutes: 15 },
      console: {
        apiKeyLogin: true,
        publicUrl: front.url,
        oidc: {
          issuer: provider.issuer,
          clientId: CONSOLE_CLIENT_ID,
          clientSecret: CONSOLE_CLIENT_SECRET,
          scopes: ['openid', 'profile', 'offline_access', 'backups:read', 'backups:run', 'audit:read'],
        },
        ...options.console,
      },
      ...options.extra,
    },
    { VC_USER: APPLIANCE_USER, VC_PASSWORD: APPLIANCE_PASSWORD, ...options.env },
  );
  front.to(Number(new URL(gateway.url).port));
  provider.register([front.url, `http://localhost:${new URL(front.url).port}`]);
  return {
    provider,
    appliances,
    gateway: { ...gateway, url: front.url },
    async stop() {
      await front.close();
      await gateway.close();
      await Promise.all(Object.values(appliances).map((appliance) => appliance.stop()));
      await provider.stop();
    },
  };
}

/** A loopback port whose connections go to another one, set once that one is known. */
async function forwarder(): Promise<{ url: string; to(port: number): void; close(): Promise<void> }> {
  let target = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    to(port) {
      target = port;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
