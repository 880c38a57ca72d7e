import type { OpenAPIObject } from '@nestjs/swagger';
import type { GatewayConfig } from './config/gateway-config.js';
import { parseConfig } from './config/load-config.js';
import { createApp } from './create-app.js';
import { createLogger } from './logging/logger.js';
import { buildOpenApiDocument } from './openapi.js';

/** The committed contract, at the repository root: what portal teams read and generate clients from. */
export const OPENAPI_FILE = 'openapi.json';

/**
 * The smallest configuration the gateway starts on. The document depends on the code alone, never on a config: no
 * appliance, no audit store, one API key nobody holds (a gateway needs some way in to start).
 */
function documentOnlyConfig(): GatewayConfig {
  return parseConfig(
    {
      port: 0,
      auth: { apiKeys: [{ id: 'openapi-export', sha256: '0'.repeat(64), scopes: [] }] },
      appliances: [],
      audit: { store: 'off' },
    },
    {},
  );
}

/** The OpenAPI document exactly as /docs-json serves it, from an app that is created but never listens. */
export async function openApiFromCode(): Promise<OpenAPIObject> {
  const silent = createLogger('error', { write: () => undefined });
  const app = await createApp(documentOnlyConfig(), silent);
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

/** JSON with every object's keys sorted and a trailing newline, so the committed file changes only with the API. */
export function toStableJson(value: unknown): string {
  return `${JSON.stringify(value, (_key, item: unknown) => (isPlainObject(item) ? sortKeys(item) : item), 2)}\n`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, value[key]]),
  );
}
