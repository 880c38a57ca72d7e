import type { AsyncLocalStorage } from 'node:async_hooks';
import { asyncLocalStorage, requestContext as fastifyContext, type RequestContextData } from '@fastify/request-context';

/** The plugin's storage holds RequestContextData objects; its typings name the accessor type instead. */
const storage = asyncLocalStorage as unknown as AsyncLocalStorage<RequestContextData>;

declare module '@fastify/request-context' {
  interface RequestContextData {
    requestId: string;
    /** The caller's address (behind trustedProxies, the one they forwarded). */
    ip: string;
    userAgent: string | undefined;
  }
}

/**
 * The request id and the caller's origin travel in async context (@fastify/request-context: AsyncLocalStorage,
 * re-entered after body parsing), set once per request by the HTTP layer, so the appliance client, the audit trail
 * and the logs read them without passing them through every signature.
 */
export const requestContext = {
  requestId(): string | undefined {
    return fastifyContext.get('requestId');
  },
  /**
   * Runs `work` under a request id of its own (one appliance's run within a fleet request), origin unchanged; outside
   * a request too (a queued fleet member started by a timer), so that the appliance and the logs still get its id.
   */
  withRequestId<T>(requestId: string, work: () => T): T {
    const store = storage.getStore();
    return storage.run({ ...(store ?? ({} as RequestContextData)), requestId }, work);
  },
  /** The request id, or `unknown` outside a request (a timer): what the audit trail and logs then say. */
  currentRequestId(): string {
    return fastifyContext.get('requestId') ?? 'unknown';
  },
  origin(): { ip: string; userAgent: string | undefined } | undefined {
    const ip = fastifyContext.get('ip');
    return ip === undefined ? undefined : { ip, userAgent: fastifyContext.get('userAgent') };
  },
};
