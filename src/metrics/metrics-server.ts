import { createServer, type Server, type ServerResponse } from 'node:http';
import { presentsBearerToken } from './bearer-token.js';
import type { GatewayMetrics } from './gateway-metrics.js';

/**
 * `metrics.port`: a server of its own for what only operators may read, so the API port need not expose it:
 * `GET /metrics`, and `GET /health/ready` with every indicator and each appliance's state (the API port's
 * /health/ready says only ready or not, to anyone). With `metrics.bearerToken` set, both need it here too. Anything
 * else is a 404.
 */
export async function startMetricsServer(metrics: GatewayMetrics, port: number, host: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (request.method !== 'GET' || (path !== '/metrics' && path !== '/health/ready')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (metrics.bearerToken !== undefined && !presentsBearerToken(request.headers.authorization, metrics.bearerToken)) {
      response
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="backup-gateway-metrics"' })
        .end('send the metrics bearer token\n');
      return;
    }
    if (path === '/health/ready') {
      void readiness(metrics, response);
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** Terminus' result as the API port used to give it (status, info, error, details), with why when not ready. */
async function readiness(metrics: GatewayMetrics, response: ServerResponse): Promise<void> {
  try {
    const report = await metrics.readiness();
    if (report === undefined) {
      response.writeHead(503, { 'content-type': 'text/plain' }).end('not started\n');
      return;
    }
    const body = { ...(report.result as object), ...(report.reason !== undefined && { reason: report.reason }) };
    response.writeHead(report.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  } catch {
    response.writeHead(500).end();
  }
}
