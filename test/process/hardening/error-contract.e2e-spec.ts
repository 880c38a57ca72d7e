import type { Socket } from 'node:net';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { API_KEY, APPLIANCE_PASSWORD, APPLIANCE_USER, startWorld, type World } from '../../support/fixture.js';
import { spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { firstResponse, rawExchange } from '../../support/raw-http.js';

/**
 * Every answer is a problem document with a stable `code` and an `X-Request-Id`, those Node's HTTP server would give
 * on its own too (no Host, an Expect it does not meet, CONNECT, headers past its limit), and a method the path does
 * not have is a 405 naming the ones it has. Raw sockets: a client library would add the Host header, refuse to send
 * CONNECT, or handle `100 Continue` itself.
 */
describe('the error contract, before routing and at it', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());

  /** The response after any interim `100 Continue`. */
  function finalResponse(text: string) {
    return firstResponse(text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, ''));
  }

  function expectProblem(text: string, status: number, code: string) {
    const response = finalResponse(text);
    expect({ status: response.status, text }).toEqual({ status, text: expect.any(String) });
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = response.body as { code: string; status: number; requestId: string };
    expect({ code: body.code, status: body.status }).toEqual({ code, status });
    expect(body.requestId).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    expect(response.headers['x-request-id']).toBe(body.requestId);
    return response;
  }

  const send = (text: string) => (socket: Socket) => socket.write(text);

  it('400 VALIDATION_FAILED for an HTTP/1.1 request without Host, connection closed', async () => {
    const { text } = await rawExchange(world.gateway.url, send('GET /health/live HTTP/1.1\r\n\r\n'));
    const response = expectProblem(text, 400, 'VALIDATION_FAILED');
    expect(response.headers.connection).toBe('close');
    expect((response.body as { detail: string }).detail).toMatch(/Host/);
  });

  it('Expect: 100-continue is met: 100 Continue, then the answer to the request', async () => {
    const body = '{}';
    const { text } = await rawExchange(world.gateway.url, (socket) => {
      socket.write(
        'POST /appliances/vc-a/backups/schedules/default/run HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n' +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
      );
      socket.once('data', () => socket.write(body));
    });
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    expectProblem(text, 401, 'UNAUTHENTICATED'); // no credentials: the route's own answer
  });

  it('an Expect the gateway cannot meet is a problem document, connection closed', async () => {
    const { text } = await rawExchange(
      world.gateway.url,
      send('GET /health/live HTTP/1.1\r\nHost: gateway\r\nExpect: a-pony\r\n\r\n'),
    );
    const response = expectProblem(text, 400, 'VALIDATION_FAILED');
    expect(response.headers.connection).toBe('close');
    expect((response.body as { detail: string }).detail).toMatch(/Expect/);
  });

  it('CONNECT is 405 METHOD_NOT_ALLOWED (this is no proxy), connection closed', async () => {
    for (const target of ['vcenter.example.com:443', '/appliances']) {
      const { text } = await rawExchange(
        world.gateway.url,
        send(`CONNECT ${target} HTTP/1.1\r\nHost: vcenter.example.com:443\r\n\r\n`),
      );
      const response = expectProblem(text, 405, 'METHOD_NOT_ALLOWED');
      expect(response.headers.connection).toBe('close');
      expect(response.headers.allow).toBe('');
    }
  });

  it('405 METHOD_NOT_ALLOWED with Allow for a method a known path does not have; unknown paths stay 404', async () => {
    const ask = (method: string, path: string) =>
      rawExchange(
        world.gateway.url,
        send(`${method} ${path} HTTP/1.1\r\nHost: gateway\r\nX-API-Key: ${API_KEY}\r\nConnection: close\r\n\r\n`),
      );
    const allowed = (text: string) => (finalResponse(text).headers.allow ?? '').split(/,\s*/).sort();

    const deleteAppliances = await ask('DELETE', '/appliances');
    expectProblem(deleteAppliances.text, 405, 'METHOD_NOT_ALLOWED');
    expect(allowed(deleteAppliances.text)).toEqual(['GET', 'HEAD']);

    const getRuns = await ask('GET', '/backups/runs');
    expectProblem(getRuns.text, 405, 'METHOD_NOT_ALLOWED');
    expect(allowed(getRuns.text)).toEqual(['POST']);

    // A path with parameters, and a method Fastify knows but the gateway never routes.
    const putJob = await ask('PUT', '/appliances/vc-a/backups/jobs/20240101-000000-1');
    expectProblem(putJob.text, 405, 'METHOD_NOT_ALLOWED');
    expect(allowed(putJob.text)).toEqual(['GET', 'HEAD']);
    const propfind = await ask('PROPFIND', '/appliances');
    expectProblem(propfind.text, 405, 'METHOD_NOT_ALLOWED');

    for (const [method, path] of [
      ['DELETE', '/made-up-path'],
      ['GET', '/made-up-path'],
      ['POST', '/appliances/vc-a/made-up'],
    ]) {
      const { text } = await ask(method, path);
      const response = expectProblem(text, 404, 'NOT_FOUND');
      expect(response.headers.allow).toBeUndefined();
    }
  });

  it('431 HEADERS_TOO_LARGE for 24 KB of small headers, as for one large one', async () => {
    const { text } = await rawExchange(world.gateway.url, send(requestWithHeaders(smallHeaders(24_000))));
    expectProblem(text, 431, 'HEADERS_TOO_LARGE');
  });
});

/** `count` headers of about 100 bytes each, at least `bytes` in all. */
function smallHeaders(bytes: number): string {
  return Array.from(
    { length: Math.ceil(bytes / 100) },
    (_, i) => `X-Filler-${String(i).padStart(4, '0')}: ${'a'.repeat(83)}\r\n`,
  ).join('');
}

function requestWithHeaders(headers: string): string {
  return `GET /health/live HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n${headers}\r\n`;
}

/**
 * The 16 KiB the README states is the gateway's own bound, not Node's default: `--max-http-header-size` (in
 * NODE_OPTIONS, say, set for some other program) raises that default for every server in the process.
 */
describe('request headers are bounded at 16 KiB, whatever the process-wide default', () => {
  it('24 KB of small headers are a 431 problem document; 15 KB are served', async () => {
    const idp = await new IdentityProvider().start();
    const sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await sim.start();
    const gateway = await spawnGateway(
      writeConfig({
        auth: { jwt: idp.jwtConfig() },
        appliances: [{ id: 'vc-a', url: sim.url, username: '${VC_USER}', password: '${VC_PASSWORD}' }],
      }),
      { VC_USER: APPLIANCE_USER, VC_PASSWORD: APPLIANCE_PASSWORD, NODE_OPTIONS: '--max-http-header-size=65536' },
    );
    try {
      const tooMany = await rawExchange(gateway.url, (socket) =>
        socket.write(requestWithHeaders(smallHeaders(24_000))),
      );
      const refused = firstResponse(tooMany.text);
      expect(refused.status).toBe(431);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((refused.body as { code: string }).code).toBe('HEADERS_TOO_LARGE');
      expect(refused.headers['x-request-id']).toBe((refused.body as { requestId: string }).requestId);

      const fewer = await rawExchange(gateway.url, (socket) => socket.write(requestWithHeaders(smallHeaders(15_000))));
      expect(firstResponse(fewer.text).status).toBe(200);
    } finally {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
      await sim.stop();
      await idp.stop();
    }
  });
});
