import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from '../config/gateway-config.js';

/**
 * The API key as callers present it, apart from its passport strategy: the console's API-key sign-in and the OpenAPI
 * document need these without loading the strategy's packages, which only a gateway with `auth.apiKeys` loads.
 */
export const API_KEY_HEADER = 'X-API-Key';

/**
 * The configured key a presented one is, if any: the SHA-256 of what is presented against every configured digest,
 * in constant time and without an early exit, so neither timing nor the config file gives a key away. The one
 * comparison for the X-API-Key header and the console's API-key sign-in.
 */
export function findApiKey<K extends Pick<ApiKeyConfig, 'sha256'>>(
  keys: readonly K[],
  presented: string,
): K | undefined {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let match: K | undefined;
  for (const key of keys) {
    if (timingSafeEqual(digest, Buffer.from(key.sha256, 'hex')) && match === undefined) match = key;
  }
  return match;
}
