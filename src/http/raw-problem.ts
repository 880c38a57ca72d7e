import type { Socket } from 'node:net';
import { newRequestId } from '../context/request-id.js';
import type { GatewayError } from '../problems/gateway-error.js';
import { problemDocument } from '../problems/problem-document.js';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * For the few answers Node's HTTP parser gives before there is a request to route (malformed requests, headers
 * too large, a request that did not arrive in time): the same problem document as everywhere else, with a request
 * id of its own, written to the socket, which is then closed.
 */
export function writeRawProblem(socket: Socket, error: GatewayError): void {
  if (!socket.writable) return;
  const requestId = newRequestId();
  const body = JSON.stringify(problemDocument(error, '', requestId));
  socket.end(
    `HTTP/1.1 ${error.status} ${REASONS[error.status] ?? 'Error'}\r\n` +
      'Content-Type: application/problem+json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
