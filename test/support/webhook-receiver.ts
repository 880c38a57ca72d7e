/**
 * A webhook receiver on loopback, as a portal or chat bridge would run one: it verifies every delivery's Standard
 * Webhooks signature with the `standardwebhooks` package (a delivery that does not verify is recorded as such and
 * answered 401), and answers with the statuses a test queues (then 200).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Delivery {
  webhookId: string;
  timestamp: string;
  contentType: string | undefined;
  verified: boolean;
  /** The parsed CloudEvent (when it verified). */
  event?: {
    id: string;
    type: string;
    source: string;
    subject: string;
    specversion: string;
    data: Record<string, unknown>;
  };
  /** What the receiver answered. */
  status: number;
}

/** A fresh Standard Webhooks secret (32 random bytes). */
export function webhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  /** Statuses answered to the next deliveries, in order; 200 once empty. */
  readonly answers: number[] = [];
  /** Answered to every delivery while set (a receiver that is down). */
  failWith: number | undefined;
  /** While true, deliveries are recorded but not answered (a receiver that hangs) until `answerHeld()`. */
  hold = false;
  private held: (() => void)[] = [];
  private server: Server | undefined;
  private readonly verifier: Webhook;

  constructor(readonly secret = webhookSecret()) {
    this.verifier = new Webhook(secret);
  }

  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/backup-gateway`;
  }

  /** Verified deliveries of `type`. */
  of(type: string): Delivery[] {
    return this.deliveries.filter((d) => d.verified && d.event?.type === type);
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = {
          'webhook-id': String(req.headers['webhook-id'] ?? ''),
          'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
          'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
        };
        let event: Delivery['event'];
        let verified = false;
        try {
          event = this.verifier.verify(body, headers) as Delivery['event'];
          verified = true;
        } catch {
          verified = false;
        }
        const status = !verified ? 401 : (this.failWith ?? this.answers.shift() ?? 200);
        this.deliveries.push({
          webhookId: headers['webhook-id'],
          timestamp: headers['webhook-timestamp'],
          contentType: req.headers['content-type'],
          verified,
          event,
          status,
        });
        const answer = () => res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
        if (this.hold) this.held.push(answer);
        else answer();
      });
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Answers the deliveries held so far (those whose sender has not given up yet). */
  answerHeld(): void {
    const held = this.held;
    this.held = [];
    for (const answer of held) answer();
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
