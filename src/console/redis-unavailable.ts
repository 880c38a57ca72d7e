import { GatewayError } from '../problems/gateway-error.js';

/**
 * A console store call whose Redis does not answer becomes 503 SERVICE_UNAVAILABLE with Retry-After, saying `what`
 * needs Redis: the console waits for Redis, while API tokens and keys keep working without it.
 */
export async function unlessRedisFails<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new GatewayError(
      'SERVICE_UNAVAILABLE',
      `${what} Redis, which does not answer; try again shortly (API tokens and keys still work).`,
      { retryAfter: 5, cause: error },
    );
  }
}
