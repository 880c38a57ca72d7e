import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayError } from './gateway-error.js';
import { PROBLEM_TABLE, ProblemCode } from './problem-codes.js';
import { problemDocument } from './problem-document.js';
import { StoredProblem } from './stored-problem.js';

/** HTTP statuses raised by Nest or Fastify themselves (routing, body parsing) → our codes. */
const FRAMEWORK_STATUS: Record<number, ProblemCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * The one place errors become responses: every failure, whoever raised it, leaves as an RFC 9457
 * problem document with a stable `code` and the request id. Unknown errors are logged with their
 * stack here and reach the caller as a bare INTERNAL_ERROR, never with internals.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(@Inject(PINO_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof StoredProblem) sendStored(request, reply, exception);
    else sendProblem(request, reply, this.toGatewayError(exception, request));
  }

  toGatewayError(exception: unknown, request: FastifyRequest): GatewayError {
    if (exception instanceof GatewayError) {
      if (exception.status >= 500) {
        this.logger.warn(
          {
            requestId: request.id,
            code: exception.code,
            appliance: exception.details.appliance,
            cause: causeCode(exception),
          },
          exception.detail,
        );
      }
      return exception;
    }
    const status = frameworkStatus(exception);
    const code = status === undefined ? undefined : FRAMEWORK_STATUS[status];
    if (code !== undefined) return new GatewayError(code, frameworkDetail(exception, code));
    this.logger.error({ requestId: request.id, err: exception }, 'unhandled error');
    return new GatewayError(
      'INTERNAL_ERROR',
      'The gateway failed to handle this request; the request id identifies it in our logs.',
    );
  }
}

/** `instance` echoes the path; a caller's 16 KiB URL is not worth echoing whole. */
const MAX_INSTANCE_LENGTH = 512;

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: GatewayError): void {
  const body = problemDocument(error, request.url.split('?')[0].slice(0, MAX_INSTANCE_LENGTH), request.id);
  const { retryAfter } = error.details;
  if (error.status === 401) {
    const presented = request.headers.authorization !== undefined || request.headers['x-api-key'] !== undefined;
    reply.header(
      'www-authenticate',
      presented ? 'Bearer realm="backup-gateway", error="invalid_token"' : 'Bearer realm="backup-gateway"',
    );
  }
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  reply
    .status(error.status)
    .header('x-request-id', request.id)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .send(JSON.stringify(body));
}

/** A problem answered before, as it was then (its own request id and instance), marked as a replay. */
function sendStored(request: FastifyRequest, reply: FastifyReply, stored: StoredProblem): void {
  for (const [name, value] of Object.entries(stored.headers)) reply.header(name, value);
  reply
    .status(stored.status)
    .header('idempotent-replayed', 'true')
    .header('x-request-id', request.id)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .send(stored.body);
}

function frameworkStatus(exception: unknown): number | undefined {
  if (exception instanceof HttpException) return exception.getStatus();
  const statusCode = (exception as { statusCode?: unknown } | null)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : undefined;
}

/** Fastify's own messages are safe and useful (e.g. "Body cannot be empty when content-type is set to 'application/json'"). */
function frameworkDetail(exception: unknown, code: ProblemCode): string {
  if (code === 'NOT_FOUND') return 'No route matches this method and path.';
  if (code === 'PAYLOAD_TOO_LARGE') return 'The request body exceeds the limit of 16 KiB.';
  if (code === 'UNSUPPORTED_MEDIA_TYPE') return 'Send the request body as application/json.';
  const message = exception instanceof Error ? exception.message : '';
  return message || PROBLEM_TABLE[code].title;
}

function causeCode(error: GatewayError): string | undefined {
  const cause = error.cause as { code?: unknown } | undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}
