import { findApiKey } from '../auth/api-key.js';
import type { ApiKeyConfig } from '../config/gateway-config.js';

export interface ApiKeyIdentity {
  id: string;
  name: string;
  scopes: string[];
  /** The configured digest of the key: a session opened with it ends when the key is replaced under the same id. */
  sha256: string;
}

/**
 * Demo and labs only (`console.apiKeyLogin`): a pasted API key, checked exactly as the X-API-Key header is
 * (findApiKey), is exchanged once for a server-side session. The key
 * itself is never kept, neither by the gateway nor by the browser.
 */
export function identifyApiKey(keys: readonly ApiKeyConfig[], presented: string): ApiKeyIdentity | undefined {
  const match = findApiKey(keys, presented);
  return match && { id: match.id, name: match.name ?? match.id, scopes: [...match.scopes], sha256: match.sha256 };
}
