import { API_KEY_HEADER } from './api-key.js';
import type { PresentedCredential } from './failed-authentications.js';

/**
 * The guessable credential a request presents, if any: a bearer token or an API key (a session cookie is 256 random
 * bits: nothing to guess). The authentication guard counts refusals of it; the session strategy leaves such a request
 * to it, so a cookie sent beside a wrong guess can never turn the guess's 401 into an answer that is not counted.
 */
export function presentedCredential(headers: Record<string, unknown>): PresentedCredential | undefined {
  if (headers.authorization !== undefined) return 'jwt';
  if (headers[API_KEY_HEADER.toLowerCase()] !== undefined) return 'apiKey';
  return undefined;
}
