import 'reflect-metadata';
import { ApplianceRegistry } from './appliances/appliance-registry.service.js';
import { ConfigError } from './config/config-errors.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { configPath, loadConfig } from './config/load-config.js';
import { createApp } from './create-app.js';
import { HealthService } from './health/health.service.js';
import { createLogger } from './logging/logger.js';

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadConfig(configPath());
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logging.level);
  const app = await createApp(config, logger);
  await app.listen({ port: config.port, host: config.host });
  logger.info({ port: config.port, appliances: config.appliances.length }, 'backup gateway listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: finishing in-flight requests');
    app.get(HealthService).markShuttingDown();
    const grace = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), config.shutdownGraceMs).unref(),
    );
    const closed = app.close().then(() => 'closed' as const);
    if ((await Promise.race([closed, grace])) === 'timeout') {
      logger.warn('grace period over with requests still in flight; closing appliance sessions anyway');
    }
    // Idempotent: app.close() already did this unless the grace period ran out first.
    await app.get(ApplianceRegistry).closeAll();
    logger.info('stopped');
    logger.flush();
    setImmediate(() => process.exit(0));
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

void main();
