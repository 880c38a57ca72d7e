import { ApplianceRegistry } from './appliances/appliance-registry.service.js';
import { ConfigError, StartupRefused } from './config/config-errors.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { createApp } from './create-app.js';
import { ShutdownState } from './health/shutdown-state.js';
import { createLogger } from './logging/logger.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { startMetricsServer } from './metrics/metrics-server.js';

export interface ServeOptions {
  /** Reads the configuration again on SIGHUP; the appliance list is applied if the whole file is valid. */
  reloadConfig?: () => GatewayConfig;
  /** Runs after the gateway stopped (sessions closed), before the process exits. */
  afterStop?: () => Promise<void>;
}

/**
 * Listens, and on SIGTERM/SIGINT reports not ready, stops accepting, lets in-flight requests finish within
 * `shutdownGraceMs` (a run in flight completes, audit entries included, before anything else is closed), then logs
 * every appliance session out (vCenter caps them), flushes logs and exits 0. A second signal exits at once (1).
 */
export async function serve(config: GatewayConfig, options: ServeOptions = {}): Promise<{ port: number }> {
  const logger = createLogger(config.logging.level);
  const app = await createApp(config, logger);
  await app
    .listen({ port: config.port, host: config.host, backlog: config.listenBacklog })
    .catch((error) => Promise.reject(listenRefused(error, 'port', config.port, config.host)));
  const port = (app.getHttpServer().address() as { port: number }).port;
  const metricsServer =
    config.metrics.enabled && config.metrics.port !== undefined
      ? await startMetricsServer(app.get(GatewayMetrics), config.metrics.port, config.host).catch((error) =>
          Promise.reject(listenRefused(error, 'metrics.port', config.metrics.port ?? 0, config.host)),
        )
      : undefined;
  logger.info(
    { port, metricsPort: config.metrics.port, appliances: config.appliances.length },
    'backup gateway listening',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // A second signal: the operator does not want to wait for the drain.
      logger.warn({ signal }, 'second signal: exiting now, without waiting for requests in flight');
      logger.flush();
      process.exit(1);
    }
    stopping = true;
    metricsServer?.close();
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: finishing in-flight requests');
    app.get(ShutdownState).markShuttingDown();
    const grace = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), config.shutdownGraceMs).unref(),
    );
    const closed = app.close().then(() => 'closed' as const);
    if ((await Promise.race([closed, grace])) === 'timeout') {
      logger.warn('grace period over with requests still in flight; closing appliance sessions anyway');
    }
    // Idempotent: app.close() already did this unless the grace period ran out first.
    await app.get(ApplianceRegistry).closeAll();
    await options.afterStop?.();
    logger.info('stopped');
    logger.flush();
    setImmediate(() => process.exit(0));
  };
  const reload = options.reloadConfig;
  if (reload) {
    process.on('SIGHUP', () => {
      try {
        const result = app.get(ApplianceRegistry).reload(reload());
        logger.info(result, 'configuration reloaded: appliance list applied');
      } catch (error) {
        // A bad file changes nothing: the gateway keeps the list it has, and says every problem.
        const problems = error instanceof ConfigError ? error.problems : [String(error)];
        logger.error({ problems }, 'configuration reload rejected; keeping the current appliance list');
      }
    });
  }
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return { port };
}

/**
 * A port this host will not give us is the operator's to change: said in one line with the key and the way to pick
 * another (main.ts exits 2), rather than as Node's stack trace.
 */
function listenRefused(error: unknown, key: 'port' | 'metrics.port', port: number, host: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  const where = `${key} ${port} on ${host}`;
  const other =
    key === 'port'
      ? `PORT=${port === 65535 ? 3000 : port + 1} (or port: in the configuration)`
      : 'another metrics.port';
  if (code === 'EADDRINUSE') {
    return new StartupRefused(
      `cannot listen: ${where} is already in use (another gateway, or another program, listens there); stop it, or choose another port, e.g. ${other}`,
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new StartupRefused(
      `cannot listen: ${where} is not allowed for this user (${code}; ports below 1024 need privileges); choose another port, e.g. ${key === 'port' ? 'PORT=3000' : 'metrics.port: 9464'}`,
    );
  }
  if (code === 'EADDRNOTAVAIL') {
    return new StartupRefused(`cannot listen: ${where}: this host has no such address (EADDRNOTAVAIL); check host`);
  }
  return error;
}
