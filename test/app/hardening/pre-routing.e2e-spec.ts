import { startWorld, World } from '../../support/fixture.js';
import { firstResponse, rawExchange } from '../../support/raw-http.js';

/**
 * Answers given before a request is routed (by Node's parser or Fastify's router) are problem documents with a
 * request id, like every other answer; and a client that is slow to send is cut off, before authentication.
 */
describe('answers before routing', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ extra: { requestTimeoutMs: 1500, headersTimeoutMs: 1000 } });
  });
  afterAll(() => world.stop());

  function expectProblemText(text: string, status: number, code: string) {
    const response = firstResponse(text);
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = response.body as { code: string; status: number; requestId: string };
    expect({ code: body.code, status: body.status }).toEqual({ code, status });
    expect(response.headers['x-request-id']).toBe(body.requestId);
    expect(body.requestId).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    return body;
  }

  const get =
    (path: string, headers = '') =>
    (socket: import('node:net').Socket) =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n${headers}\r\n`);

  it('414 URI_TOO_LONG for a path parameter over the limit', async () => {
    const { text } = await rawExchange(world.gateway.url, get(`/appliances/${'a'.repeat(600)}/backups/jobs`));
    expectProblemText(text, 414, 'URI_TOO_LONG');
  });

  it('400 VALIDATION_FAILED for malformed percent-encoding in the path', async () => {
    const { text } = await rawExchange(world.gateway.url, get('/appliances/%E0%A4%A/backups/jobs'));
    expectProblemText(text, 400, 'VALIDATION_FAILED');
  });

  it('431 HEADERS_TOO_LARGE for headers over 16 KiB', async () => {
    const { text } = await rawExchange(world.gateway.url, get('/health/live', `X-Filler: ${'a'.repeat(20_000)}\r\n`));
    expectProblemText(text, 431, 'HEADERS_TOO_LARGE');
  });

  it('400 for a request that is not HTTP', async () => {
    const { text } = await rawExchange(world.gateway.url, (socket) => socket.write('HELLO THERE\r\n\r\n'));
    expectProblemText(text, 400, 'VALIDATION_FAILED');
  });

  it('408 REQUEST_TIMEOUT for a body that trickles in, before authentication', async () => {
    let ticker: NodeJS.Timeout | undefined;
    const { text, closedAfterMs } = await rawExchange(world.gateway.url, (socket) => {
      socket.write(
        'POST /appliances/vc-a/backups/schedules/default/run HTTP/1.1\r\nHost: gateway\r\n' +
          'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
      );
      ticker = setInterval(() => socket.writable && socket.write(' '), 200);
    });
    clearInterval(ticker);
    expectProblemText(text, 408, 'REQUEST_TIMEOUT');
    expect(closedAfterMs).toBeLessThan(5000); // requestTimeoutMs is 1.5 s; Node checks every 0.5 s
    expect(world.appliances['vc-a'].counters.requests).toBe(0);
  });

  it('408 for a connection that never sends its headers', async () => {
    const { text, closedAfterMs } = await rawExchange(world.gateway.url, (socket) =>
      socket.write('GET /health/live HTTP/1.1\r\nHost: gate'),
    );
    expectProblemText(text, 408, 'REQUEST_TIMEOUT');
    expect(closedAfterMs).toBeLessThan(5000);
  });

  it('a connection that sends nothing at all is closed too', async () => {
    const { closedAfterMs } = await rawExchange(world.gateway.url, () => undefined);
    expect(closedAfterMs).toBeLessThan(5000);
  });
});
