/**
 * The limits apply whatever order Nest finishes adding the gateway's modules in. Nest adds a module's imports
 * concurrently, awaiting each (AuthModule's is a promise: it may load its API-key strategy first), and global guards
 * registered by two modules ran in the order those imports settled. In the bundle, AuthModule settled last in about
 * one start in three: the rate limit and the concurrency limit ran before authentication, found no caller, and let
 * every request through. Here every import is made to settle in the reverse of its order, the way that start went.
 */
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

describe('the global guards', () => {
  let app: NestFastifyApplication;
  let url: string;

  beforeAll(async () => {
    const config = parseConfig(
      {
        host: '127.0.0.1',
        port: 0,
        auth: { apiKeys: [{ id: 'cron', sha256: sha256Hex(API_KEY), scopes: ['backups:read'] }] },
        appliances: [{ id: 'vc-a', url: 'http://127.0.0.1:9', username: 'u', password: 'p' }],
        audit: { sqlite: { path: `${tempDir('guard-order-')}/audit.db` } },
        rateLimit: { readsPerMinute: 2 },
        console: { enabled: false },
        fleet: { backgroundProbes: false },
      },
      {},
    );
    const module = await AppModule.forRoot(config, pino({ level: 'silent' }));
    app = await NestFactory.create<NestFastifyApplication>(reversed(module), new FastifyAdapter(), { logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = await app.getUrl();
  });
  afterAll(() => app.close());

  it('limit an authenticated caller even when the limits module settles before the auth module', async () => {
    // Authentication still comes first: no caller, no budget spent.
    expect((await fetch(`${url}/appliances`)).status).toBe(401);
    const statuses: number[] = [];
    const limits: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${url}/appliances`, { headers: { 'x-api-key': API_KEY } });
      await response.arrayBuffer();
      statuses.push(response.status);
      limits.push(response.headers.get('ratelimit-limit'));
    }
    expect(limits).toEqual(['2', '2', '2']);
    expect(statuses).toEqual([200, 200, 429]);
  });
});
