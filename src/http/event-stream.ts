import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Observable, Observer, Subscription } from 'rxjs';

/** One Server-Sent Event, with its wire form made once however many streams it is written to. */
export interface StreamedEvent {
  /** Its `id`, `event` and `data` lines and the blank line that ends it, exactly as every stream sends it. */
  readonly wire: string;
}

/** The wire form of an event: JSON has no raw line break, so the data is always one `data:` line. */
export function eventWire(id: number, type: string, data: unknown): string {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The media type of an event stream: also how the concurrency guard tells a stream route (`@ApiProduces`). */
export const EVENT_STREAM = 'text/event-stream';

/** As Nest's `@Sse()` sends them: no cache anywhere, and no buffering in a proxy (nginx's X-Accel-Buffering). */
const EVENT_STREAM_HEADERS = {
  'content-type': EVENT_STREAM,
  connection: 'keep-alive',
  'cache-control': 'private, no-cache, no-store, must-revalidate, max-age=0, no-transform',
  pragma: 'no-cache',
  expires: '0',
  'x-accel-buffering': 'no',
};

/**
 * Answers a request with an event stream: 200 and the headers at once, then each event of `events` as it is, until
 * `events` completes (the response ends) or the client leaves (`events` is unsubscribed). Whatever can refuse the
 * request (guards, a 404) has run before: from here on, nothing fails but the connection.
 *
 * Why not `@Sse()`: Nest's SSE pipeline gives every stream a Transform stream, an AbortController, a timer, a promise
 * and five rxjs operators, and formats and serialises each event once per stream. A crowd of watchers of one job
 * (issue 21: 10,000 streams over 1,000 jobs) shares one feed here, so an event is serialised once and its one string
 * is written to each stream: a write allocates nothing of its own. The writes go to the Node response through
 * Fastify's documented `reply.hijack()` and `reply.raw`; docs/performance-decisions.md has the measurement and the
 * tests that hold it.
 *
 * A client that stops reading is dropped at the next event once its response is backed up past the socket's high
 * water mark (16 KiB), instead of holding events for it; an EventSource reconnects.
 */
export function sendEventStream(request: FastifyRequest, reply: FastifyReply, events: Observable<StreamedEvent>): void {
  const socket = request.raw.socket;
  // The client left while the stream was being set up (a fleet run's read): nobody to answer, nothing to watch.
  if (socket.destroyed) return;
  reply.hijack();
  const response = reply.raw;
  // The headers set before the handler (security headers, CORS) stay; a stream's own replace any of the same name.
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) response.setHeader(name, value);
  }
  response.writeHead(200, { 'x-request-id': request.id, ...EVENT_STREAM_HEADERS });
  // Sent now, alone: the client knows at once that its stream is open (and Node's header text is written as it is,
  // not joined to the first event, so the stream holds it as one flat string for its life instead of ~90 pieces).
  response.flushHeaders();
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  // No idle timeout: a job may go minutes without an event. Events go out as they come, not with the next packet.
  socket.setTimeout(0);
  socket.setNoDelay(true);
  socket.setKeepAlive(true);
  response.write('\n');
  new EventStreamWriter(socket, response).watch(events);
}

/**
 * One stream's state, as one object with its methods on the class: it lives as long as the stream, ten thousand at
 * a time, so no closure is made per stream but the one listener on the socket.
 */
class EventStreamWriter implements Observer<StreamedEvent> {
  private subscription: Subscription | undefined;
  private readonly stop = this.unsubscribe.bind(this);

  constructor(
    private readonly socket: Socket,
    private readonly response: ServerResponse,
  ) {}

  watch(events: Observable<StreamedEvent>): void {
    this.subscription = events.subscribe(this);
    // The socket's close, not the response's: a stream queued behind another on a pipelined connection never
    // becomes that connection's response, and only the socket tells it the client left.
    if (!this.subscription.closed) this.socket.on('close', this.stop);
  }

  next(event: StreamedEvent): void {
    if (this.response.writableNeedDrain || this.response.destroyed) {
      this.socket.destroy();
      return;
    }
    this.response.write(event.wire);
  }

  complete(): void {
    this.socket.off('close', this.stop);
    this.response.end();
  }

  /**
   * No feed fails (a failed read is an `error` event); were one to, the client sees its stream cut, as after a
   * network fault, and reconnects, instead of rxjs rethrowing the error where it would stop the process.
   */
  error(): void {
    this.socket.destroy();
  }

  private unsubscribe(): void {
    this.subscription?.unsubscribe();
  }
}
