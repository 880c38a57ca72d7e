import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyHttpOptions, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config/gateway-config.js';
import { requestIdFor } from '../context/request-id.js';
import { GatewayError } from '../problems/gateway-error.js';
import { sendProblem } from '../problems/problem.filter.js';
import { httpServerFactory, MAX_HEADER_BYTES } from './http-server.js';
import { writeRawProblem } from './raw-problem.js';

const BODY_LIMIT_BYTES = 16 * 1024;
/** Longer path parameters are a 414; up to this, they reach validation (a 400 that names the field). */
const MAX_PARAM_LENGTH = 512;

/**
 * Fastify's options: every wait bounded before a request is routed, and every answer given before routing (bad
 * URL, parameter too long, headers too large, too slow) a problem document with a request id, like any other.
 */
export function serverOptions(config: GatewayConfig): FastifyHttpOptions<Server> {
  return {
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    genReqId: requestIdFor,
    requestIdHeader: false,
    logger: false,
    return503OnClosing: true,
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    // Timeouts (a client trickling its body cannot hold a socket) and the per-connection bound live there.
    serverFactory: httpServerFactory(config),
    clientErrorHandler,
    frameworkErrors,
  };
}

/** Errors Node's HTTP parser raises on a connection, before Fastify sees a request. */
function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    writeRawProblem(
      socket,
      new GatewayError('REQUEST_TIMEOUT', 'The request did not arrive in time; send it whole, and faster.'),
    );
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    writeRawProblem(
      socket,
      new GatewayError('HEADERS_TOO_LARGE', `The request headers exceed the limit of ${MAX_HEADER_BYTES / 1024} KiB.`),
    );
  } else {
    writeRawProblem(socket, new GatewayError('VALIDATION_FAILED', 'The request is not valid HTTP/1.1.'));
  }
  socket.destroy();
}

/** Errors Fastify raises while routing (malformed percent-encoding, an over-long parameter). */
function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const gatewayError =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new GatewayError('URI_TOO_LONG', `A path parameter is longer than ${MAX_PARAM_LENGTH} characters.`)
      : new GatewayError('VALIDATION_FAILED', 'The request path is not valid (malformed percent-encoding?).');
  sendProblem(request, reply, gatewayError);
}
