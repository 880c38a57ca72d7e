/**
 * One delivery attempt: a POST of the event, signed per Standard Webhooks 1.0 by the `standardwebhooks` package, to the
 * configured URL and nowhere else. undici's request() follows no redirect (a 3xx is an answer like any non-2xx, so it
 * is retried, never followed); at most a few KB of the answer are read, then the connection is dropped; the whole
 * attempt, connection included, is bounded by the timeout.
 */
import { Webhook } from 'standardwebhooks';
import type { Agent, request } from 'undici';
import { loadUndici } from '../common/load-undici.js';
import { OnFirstUse } from '../common/on-first-use.js';
import { CLOUDEVENTS_CONTENT_TYPE } from './notification-events.js';

export const DELIVERY_TIMEOUT_MS = 10_000;
/** Of a receiver's answer, no more than this is read: its status is what counts. */
const MAX_ANSWER_BYTES = 4096;

export type AttemptResult = { ok: true; status: number } | { ok: false; status: number | null; error: string };

export interface SignedMessage {
  id: string;
  body: string;
}

/** undici's pool for receivers and its request(). */
interface Client {
  agent: Agent;
  request: typeof request;
}

export class WebhookSender {
  /**
   * Its own connection pool: receivers never share sockets with the appliances. Made, with undici loaded, on the
   * first delivery: a gateway without webhooks never needs it (common/load-undici.ts).
   */
  private readonly client = new OnFirstUse<Client>(async () => {
    const { Agent, request } = await loadUndici();
    const agent = new Agent({
      connect: { timeout: DELIVERY_TIMEOUT_MS },
      headersTimeout: DELIVERY_TIMEOUT_MS,
      bodyTimeout: DELIVERY_TIMEOUT_MS,
      connections: 16,
    });
    return { agent, request };
  });
  private readonly signers = new Map<string, Webhook>();

  constructor(private readonly timeoutMs = DELIVERY_TIMEOUT_MS) {}

  /** `stop` cuts the attempt short (the gateway is stopping); the timeout bounds it in any case. */
  async send(url: string, secret: string, message: SignedMessage, stop?: AbortSignal): Promise<AttemptResult> {
    const timestamp = new Date();
    const headers = {
      'content-type': CLOUDEVENTS_CONTENT_TYPE,
      'user-agent': 'backup-gateway',
      'webhook-id': message.id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': this.signer(secret).sign(message.id, timestamp, message.body),
    };
    try {
      const { agent, request } = await this.client.get();
      const answer = await request(url, {
        method: 'POST',
        headers,
        body: message.body,
        dispatcher: agent,
        signal: stop
          ? AbortSignal.any([AbortSignal.timeout(this.timeoutMs), stop])
          : AbortSignal.timeout(this.timeoutMs),
      });
      await drainAtMost(answer.body, MAX_ANSWER_BYTES);
      if (answer.statusCode >= 200 && answer.statusCode < 300) return { ok: true, status: answer.statusCode };
      return { ok: false, status: answer.statusCode, error: `the receiver answered ${answer.statusCode}` };
    } catch (error) {
      return { ok: false, status: null, error: describe(error, url, this.timeoutMs) };
    }
  }

  async close(): Promise<void> {
    await this.client.close(({ agent }) => agent.close());
  }

  private signer(secret: string): Webhook {
    let signer = this.signers.get(secret);
    if (!signer) {
      signer = new Webhook(secret);
      this.signers.set(secret, signer);
    }
    return signer;
  }
}

/** Reads up to `limit` bytes of the answer and drops the rest with the connection. */
async function drainAtMost(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<void> {
  let read = 0;
  try {
    for await (const chunk of body) {
      read += chunk.length;
      if (read >= limit) break;
    }
  } catch {
    // what the receiver said after its status line does not matter
  } finally {
    body.destroy();
  }
}

/**
 * Why an attempt failed, for the deliveries list: the kind of failure, never a header, the secret or the URL (chat
 * services put their own secret in its path).
 */
function describe(error: unknown, url: string, timeoutMs: number): string {
  const { name, code, message } = (error ?? {}) as { name?: string; code?: string; message?: string };
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  const text = code ? `${code}: ${message ?? ''}`.trim() : (message ?? String(error));
  return text.split(url).join('(the webhook URL)');
}
