import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { newRequestId } from '../context/request-id.js';
import type { GatewayError } from '../problems/gateway-error.js';
import { problemDocument } from '../problems/problem-document.js';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/** `instance` echoes the path; a caller's 16 KiB URL is not worth echoing whole. */
const MAX_INSTANCE_LENGTH = 512;

/**
 * For the few answers Node's HTTP parser gives before there is a request to route (malformed requests, headers
 * too large, a request that did not arrive in time, CONNECT): the same problem document as everywhere else, with a
 * request id of its own, written to the socket, which is then closed.
 */
export function writeRawProblem(socket: Socket, error: GatewayError, headers: Record<string, string> = {}): void {
  if (!socket.writable) return;
  const requestId = newRequestId();
  const body = JSON.stringify(problemDocument(error, '', requestId));
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${error.status} ${REASONS[error.status] ?? 'Error'}\r\n` +
      'Content-Type: application/problem+json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      extra +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/**
 * For a request Node parsed but the gateway refuses before Fastify sees it (no Host, an Expectation it cannot
 * meet, too many pipelined): a problem document, and the connection closed after it, since what follows the
 * request on it (its body, more pipelined requests) will not be read.
 */
export function answerProblem(
  request: IncomingMessage,
  response: ServerResponse,
  error: GatewayError,
  headers: OutgoingHttpHeaders = {},
): void {
  const requestId = newRequestId();
  const instance = (request.url ?? '').split('?')[0].slice(0, MAX_INSTANCE_LENGTH);
  const body = JSON.stringify(problemDocument(error, instance, requestId));
  response.writeHead(error.status, {
    ...headers,
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    connection: 'close',
  });
  response.end(body);
}
