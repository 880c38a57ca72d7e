import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { GatewayConfig } from '../config/gateway-config.js';
import { newRequestId } from '../context/request-id.js';
import { GatewayError } from '../problems/gateway-error.js';
import { problemDocument } from '../problems/problem-document.js';

const IN_FLIGHT = Symbol('requests in flight on this connection');
const REFUSING = Symbol('this connection is being closed for pipelining too much');
const DROPPED = Symbol('requests dropped on this connection since');
type CountedSocket = Socket & { [IN_FLIGHT]?: number; [REFUSING]?: boolean; [DROPPED]?: number };

/** A client that keeps pipelining after the limit loses the connection at once, queued 503 and all. */
const MAX_DROPPED = 16;

/**
 * The Node HTTP server under Fastify (its serverFactory), with the limits that must act before Fastify allocates
 * anything for a request: timeouts for slow clients, and a bound on the requests under way on one connection.
 *
 * HTTP pipelining lets one socket queue thousands of requests in one write, each costing memory until answered
 * (20 such sockets once took the gateway to 1.6 GB). Past `limits.maxInFlightPerConnection`, the first request over
 * the limit is answered 503 OVERLOADED with `Connection: close` (in order, after the ones before it), the socket
 * stops being read, and the requests Node had already parsed from it are never handed to Fastify: the connection
 * closes after that 503, and they go with it; a client that had pipelined many more loses the connection at once.
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
        handler(request, response);
      },
    );
    server.maxConnections = config.maxConnections;
    return server;
  };
}

function refuse(request: IncomingMessage, response: ServerResponse, limit: number): void {
  const requestId = newRequestId();
  const error = new GatewayError(
    'OVERLOADED',
    `More than ${limit} requests were under way on this connection; open another, or wait for the answers.`,
  );
  const body = JSON.stringify(problemDocument(error, (request.url ?? '').split('?')[0].slice(0, 512), requestId));
  response.writeHead(503, {
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'retry-after': '1',
    'x-request-id': requestId,
    connection: 'close',
  });
  response.end(body);
}
