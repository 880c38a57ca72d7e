import Fastify, { type FastifyInstance } from 'fastify';
import { Observable, Subject } from 'rxjs';
import { eventWire, type StreamedEvent, sendEventStream } from '../../../src/http/event-stream.js';
import { openRawConnection } from '../../support/raw-http.js';
import { waitFor } from '../../support/wait-for.js';

const event = (n: number, padding = ''): StreamedEvent => ({ wire: eventWire(n, 'progress', { n, padding }) });

/**
 * The event-stream writer behind both SSE routes, on a bare Fastify server over loopback: what it sends, and that
 * whatever ends a stream (the feed, the client, a client that stops reading, a closed socket) ends its subscription.
 * The routes' own rules (auth, scopes, slots, 404s) are in jobs.e2e-spec.ts and slot-release.e2e-spec.ts.
 */
describe('sendEventStream', () => {
  let app: FastifyInstance;
  let url: string;
  let feed: Subject<StreamedEvent>;
  /** Subscriptions to `feed` open now. */
  let watching = 0;
  let finishSetup: () => void = () => undefined;
  let setupDone = Promise.resolve();

  beforeAll(async () => {
    app = Fastify();
    // Headers set before the handler stay, but the stream's own content type wins.
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('content-type', 'application/json');
    });
    const counted = new Observable<StreamedEvent>((subscriber) => {
      watching += 1;
      const subscription = feed.subscribe(subscriber);
      return () => {
        watching -= 1;
        subscription.unsubscribe();
      };
    });
    app.get('/events', (request, reply) => sendEventStream(request, reply, counted));
    // A stream whose setup takes a while (a fleet run's permission is read from the store first).
    app.get('/late', async (request, reply) => {
      await setupDone;
      sendEventStream(request, reply, counted);
    });
    app.get('/plain', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address() as { port: number };
    url = `http://127.0.0.1:${address.port}`;
  });
  afterAll(() => app.close());
  beforeEach(() => {
    feed = new Subject();
  });
  afterEach(async () => {
    feed.complete();
    await waitFor(() => watching === 0);
  });

  /** A raw connection, so a test can pipeline requests, stop reading, or cut it. */
  const rawClient = () => openRawConnection(url);

  it('answers 200 with the stream headers and the ones set before it, then numbered events until the feed completes', async () => {
    const response = await fetch(`${url}/events`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('cache-control')).toBe(
      'private, no-cache, no-store, must-revalidate, max-age=0, no-transform',
    );
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-request-id')).toMatch(/^req-/);
    feed.next(event(1));
    feed.next(event(2));
    feed.complete();
    expect(await response.text()).toBe(
      '\nid: 1\nevent: progress\ndata: {"n":1,"padding":""}\n\nid: 2\nevent: progress\ndata: {"n":2,"padding":""}\n\n',
    );
    expect(watching).toBe(0);
  });

  it('writes each event as it is to every stream: one who joins late has the same ids from where it joined', async () => {
    const first = await fetch(`${url}/events`);
    await waitFor(() => watching === 1);
    feed.next(event(1));
    const second = await fetch(`${url}/events`);
    await waitFor(() => watching === 2);
    feed.next(event(2));
    feed.complete();
    const ids = async (response: Response) => [...(await response.text()).matchAll(/^id: (\d+)$/gm)].map((m) => m[1]);
    expect(await ids(first)).toEqual(['1', '2']);
    expect(await ids(second)).toEqual(['2']);
  });

  it('answers HEAD with the headers alone and watches nothing', async () => {
    const response = await fetch(`${url}/events`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe('');
    expect(watching).toBe(0);
  });

  it('stops watching when the client leaves', async () => {
    const abort = new AbortController();
    const response = await fetch(`${url}/events`, { signal: abort.signal });
    expect(response.status).toBe(200);
    await waitFor(() => watching === 1);
    abort.abort();
    await waitFor(() => watching === 0);
  });

  it('stops watching a stream queued behind another on a pipelined connection when the socket closes', async () => {
    const client = await rawClient();
    client.socket.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\nGET /events HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => watching === 2);
    expect(client.received().match(/^HTTP\/1\.1 200/gm)).toHaveLength(1);
    client.socket.destroy();
    await waitFor(() => watching === 0);
  });

  it('watches nothing for a client that left while the stream was being set up', async () => {
    setupDone = new Promise<void>((resolve) => {
      finishSetup = resolve;
    });
    const client = await rawClient();
    client.socket.write('GET /late HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the request is in the handler, waiting
    client.socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the gateway saw the socket close
    finishSetup();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(watching).toBe(0);
  });

  it('drops a client that stops reading once its answer backs up, instead of holding events for it', async () => {
    const client = await rawClient();
    client.socket.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => client.received().includes('\r\n\r\n'));
    client.socket.pause();
    // 256 KiB events until the kernel's buffers on both sides are full and the response stays backed up.
    const padding = 'x'.repeat(256 * 1024);
    let sent = 0;
    while (watching === 1 && sent < 2000) {
      feed.next(event(sent, padding));
      sent += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(watching).toBe(0);
    expect(sent).toBeLessThan(2000);
    client.socket.destroy();
    // The server goes on serving.
    expect((await fetch(`${url}/plain`)).status).toBe(200);
  });

  it('cuts the connection of a feed that fails, and goes on serving', async () => {
    const response = await fetch(`${url}/events`);
    await waitFor(() => watching === 1);
    feed.next(event(1));
    feed.error(new Error('the feed broke'));
    await expect(response.text()).rejects.toThrow();
    expect((await fetch(`${url}/plain`)).status).toBe(200);
  });
});
