/**
 * The limits apply whatever order Nest finishes adding the gateway's modules in. Nest adds a module's imports
 * concurrently, awaiting each (AuthModule's is a promise: it may load its API-key strategy first), and global guards
 * registered by two modules ran in the order those imports settled. In the bundle, AuthModule settled last in about
 * one start in three: the rate limit and the concurrency limit ran before authentication, found no caller, and let
 * every request through. Here every import is made to settle in the reverse of its order, the way that start went.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import { AppModule } from '../../../src/app.module.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { API_KEY } from '../../support/fixture.js';
import { sha256Hex } from '../../support/identity-provider.js';
import { tempDir } from '../../support/temp-dir.js';

type Import = NonNullable<DynamicModule['imports']>[number];

/** `module` with its imports settling last-first, each a few milliseconds after the one listed after it. */
function reversed(module: DynamicModule): DynamicModule {
  const imports = module.imports ?? [];
  return {
    ...module,
    imports: imports.map(
      (entry, index) =>
        new Promise<Import>((resolve) => setTimeout(() => resolve(entry), (imports.length - index) * 5)) as Import,
    ),
  };
}

/** The gateway, built with its imports reversed, listening on loopback; `document` adds to a config of one appliance. */
async function gatewayWith(applianceUrl: string, document: Record<string, unknown>) {
  const config = parseConfig(
    {
      host: '127.0.0.1',
      port: 0,
      auth: { apiKeys: [{ id: 'cron', sha256: sha256Hex(API_KEY), scopes: ['backups:read'] }] },
      appliances: [{ id: 'vc-a', url: applianceUrl, username: 'u', password: 'p' }],
      audit: { sqlite: { path: `${tempDir('guard-order-')}/audit.db` } },
      console: { enabled: false },
      ...document,
    },
    {},
  );
  const module = await AppModule.forRoot(config, pino({ level: 'silent' }));
  const app = await NestFactory.create<NestFastifyApplication>(reversed(module), new FastifyAdapter(), {
    logger: false,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: await app.getUrl() };
}

const list = (url: string) => fetch(`${url}/appliances`, { headers: { 'x-api-key': API_KEY } });

describe('the global guards, whatever order the modules settle in', () => {
  let app: NestFastifyApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('rate-limit an authenticated caller', async () => {
    const gateway = await gatewayWith('http://127.0.0.1:9', {
      rateLimit: { readsPerMinute: 2 },
      fleet: { backgroundProbes: false },
    });
    app = gateway.app;
    // Authentication still comes first: no caller, no budget spent.
    expect((await fetch(`${gateway.url}/appliances`)).status).toBe(401);
    const statuses: number[] = [];
    const limits: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await list(gateway.url);
      await response.arrayBuffer();
      statuses.push(response.status);
      limits.push(response.headers.get('ratelimit-limit'));
    }
    expect(limits).toEqual(['2', '2', '2']);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('bound the requests an authenticated caller has under way', async () => {
    // An appliance that accepts connections and never answers: the list's status probe holds the first request.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const gateway = await gatewayWith(`http://127.0.0.1:${port}`, {
        limits: { maxInFlightPerCaller: 1 },
        fleet: { backgroundProbes: false, probeTimeoutMs: 1500 },
      });
      app = gateway.app;
      const held = list(gateway.url);
      // Its probe has reached the appliance: the first request is under way.
      while (sockets.size === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const second = await list(gateway.url);
      expect(second.status).toBe(429);
      expect(await second.json()).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
      // Hung up on, the appliance shows as unreachable, and the first request is answered.
      for (const socket of sockets) socket.destroy();
      expect((await held).status).toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
