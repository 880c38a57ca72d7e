import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from '../config/gateway-config.js';

export interface ApiKeyIdentity {
  id: string;
  name: string;
  scopes: string[];
}

/**
 * Demo and labs only (`console.apiKeyLogin`): a pasted API key, checked as the X-API-Key strategy checks it (SHA-256,
 * compared in constant time with every configured digest), is exchanged once for a server-side session. The key
 * itself is never kept, neither by the gateway nor by the browser.
 */
export function identifyApiKey(keys: readonly ApiKeyConfig[], presented: string): ApiKeyIdentity | undefined {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let match: ApiKeyConfig | undefined;
  for (const key of keys) {
    if (timingSafeEqual(digest, Buffer.from(key.sha256, 'hex')) && match === undefined) match = key;
  }
  return match && { id: match.id, name: match.name ?? match.id, scopes: [...match.scopes] };
}
