import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { GatewayConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';
import { answerProblem, writeRawProblem } from './raw-problem.js';

const IN_FLIGHT = Symbol('requests in flight on this connection');
const REFUSING = Symbol('this connection is being closed for pipelining too much');
const DROPPED = Symbol('requests dropped on this connection since');
type CountedSocket = Socket & { [IN_FLIGHT]?: number; [REFUSING]?: boolean; [DROPPED]?: number };

/** A client that keeps pipelining after the limit loses the connection at once, queued 503 and all. */
const MAX_DROPPED = 16;

/**
 * The request line and headers together (README, "Limits and fairness"). Set here rather than left to Node's
 * default, which `--max-http-header-size` (in NODE_OPTIONS, say) changes for the whole process.
 */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * The Node HTTP server under Fastify (its serverFactory), with the limits that must act before Fastify allocates
 * anything for a request: timeouts for slow clients, and a bound on the requests under way on one connection.
 *
 * HTTP pipelining lets one socket queue thousands of requests in one write, each costing memory until answered
 * (20 such sockets once took the gateway to 1.6 GB). Past `limits.maxInFlightPerConnection`, the first request over
 * the limit is answered 503 OVERLOADED with `Connection: close` (in order, after the ones before it), the socket
 * stops being read, and the requests Node had already parsed from it are never handed to Fastify: the connection
 * closes after that 503, and they go with it; a client that had pipelined many more loses the connection at once.
 *
 * Node answers a few requests itself, with a bare status line and no body: an HTTP/1.1 request without Host (400),
 * an Expect other than 100-continue (417), CONNECT (the connection dropped unanswered). Those are answered here, as
 * problem documents like every other answer.
 */
export function httpServerFactory(config: GatewayConfig) {
  const limit = config.limits.maxInFlightPerConnection;
  return (handler: RequestListener): Server => {
    const server = createServer(
      {
        headersTimeout: config.headersTimeoutMs,
        requestTimeout: config.requestTimeoutMs,
        keepAliveTimeout: config.keepAliveTimeoutMs,
        // Node checks the two timeouts above only this often (default 30 s); check often enough to keep them.
        connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs / 2),
        maxHeaderSize: MAX_HEADER_BYTES,
        // Checked below instead, so that the 400 is a problem document.
        requireHostHeader: false,
      },
      (request: IncomingMessage, response: ServerResponse) => {
        const socket = request.socket as CountedSocket;
        if (socket[REFUSING]) {
          // Closing after the 503 below. Node parses a whole 64 KiB read at once (hundreds of requests), and each
          // stays in memory until the connection closes: past a few, close it now.
          socket[DROPPED] = (socket[DROPPED] ?? 0) + 1;
          if (socket[DROPPED] > MAX_DROPPED) socket.destroy();
          return;
        }
        const inFlight = (socket[IN_FLIGHT] ?? 0) + 1;
        socket[IN_FLIGHT] = inFlight;
        response.once('close', () => {
          socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 1) - 1;
        });
        if (inFlight > limit) {
          socket[REFUSING] = true;
          socket.pause();
          refuse(request, response, limit);
          return;
        }
        // HTTP/1.1 requires Host (RFC 9112, 3.2); HTTP/1.0 predates it.
        if (request.httpVersion === '1.1' && request.headers.host === undefined) {
          answerProblem(
            request,
            response,
            new GatewayError('VALIDATION_FAILED', 'An HTTP/1.1 request must have a Host header.'),
          );
          return;
        }
        handler(request, response);
      },
    );
    server.maxConnections = config.maxConnections;
    // Expect: 100-continue is met as Node does by default (100 Continue, then the request is served); any other
    // expectation is refused, which RFC 9110 (10.1.1) allows with a 400 as well as a 417.
    server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
      answerProblem(
        request,
        response,
        new GatewayError('VALIDATION_FAILED', 'The only Expect the gateway meets is 100-continue.'),
      );
    });
    // A tunnel to anywhere is no method of any resource here: an empty Allow (RFC 9110, 10.2.1).
    server.on('connect', (_request: IncomingMessage, socket: Socket) => {
      writeRawProblem(
        socket,
        new GatewayError('METHOD_NOT_ALLOWED', 'CONNECT is not supported: the gateway is not a proxy.'),
        { Allow: '' },
      );
      socket.destroy();
    });
    return server;
  };
}

function refuse(request: IncomingMessage, response: ServerResponse, limit: number): void {
  const error = new GatewayError(
    'OVERLOADED',
    `More than ${limit} requests were under way on this connection; open another, or wait for the answers.`,
  );
  answerProblem(request, response, error, { 'retry-after': '1' });
}
