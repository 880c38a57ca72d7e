/**
 * Boots the real gateway (createApp, as main.ts does) on a loopback port with a config validated by the
 * real loader, and captures every log line it writes so tests can assert on them.
 */
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import type { GatewayConfig } from '../../src/config/gateway-config.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createApp } from '../../src/create-app.js';
import { createLogger } from '../../src/logging/logger.js';
import { assertBuildIsFresh } from './built.js';
import { tempDir } from './temp-dir.js';

export interface TestGateway {
  url: string;
  app: NestFastifyApplication;
  config: GatewayConfig;
  /** Every log line written so far, raw. */
  logs: string[];
  close(): Promise<void>;
}

/** `document` is what a YAML file would hold; `env` feeds `${NAME}` references. */
export async function startGateway(
  document: Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
): Promise<TestGateway> {
  // The audit trail goes to a temp dir of its own unless the test chose a store; removed when the gateway closes.
  const auditDir = document.audit === undefined ? tempDir('gw-audit-') : undefined;
  const withDefaults = {
    host: '127.0.0.1',
    port: 0,
    ...(auditDir && { audit: { sqlite: { path: join(auditDir, 'audit.db') } } }),
    ...document,
    // The gateway shares this jest worker's heap and event loop with every other test: shedding on heap use or
    // event-loop delay would measure the test runner, not the gateway. Tests of load shedding run a gateway process.
    limits: { maxHeapUsedMb: 0, maxEventLoopDelayMs: 0, ...(document.limits as object | undefined) },
    // Tests run many requests with one token; the rate-limit tests set their own limits.
    rateLimit: { runsPerMinute: 100_000, readsPerMinute: 100_000, ...(document.rateLimit as object | undefined) },
    // Suites count what reaches their appliances: no background reads of job lists, unless a suite turns them on.
    freshness: { refreshMinutes: 0, ...(document.freshness as object | undefined) },
    // Nor background health probes: status is probed when a suite asks for it (GET /appliances).
    fleet: { backgroundProbes: false, ...(document.fleet as object | undefined) },
  };
  const config = parseConfig(withDefaults, { ...env, PORT: '' });
  // The SQLite audit store runs the built worker (dist/), even when the rest of the gateway runs from src/.
  if (config.audit.store === 'sqlite') assertBuildIsFresh('dist/audit/store/audit-store-worker.js');
  const logs: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logs.push(line) } as pino.DestinationStream);
  const app = await createApp(config, logger);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    app,
    config,
    logs,
    close: async () => {
      await app.close();
      if (auditDir) rmSync(auditDir, { recursive: true, force: true });
    },
  };
}
