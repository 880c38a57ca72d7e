import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { PROBLEM_CODES, PROBLEM_TABLE, ProblemCode } from './problem-codes.js';
import { ProblemDocument } from './problem-document.js';

const PROBLEM_MEDIA_TYPE = 'application/problem+json';
export const PROBLEM_EXAMPLES_PREFIX = '#/components/examples/';

function problemExampleRef(code: ProblemCode): string {
  return `${PROBLEM_EXAMPLES_PREFIX}${code}`;
}

/** Answered to CORS preflights (OPTIONS), which no documented operation is: a 403 of a route never carries it. */
const PREFLIGHT_ONLY = new Set<ProblemCode>(['ORIGIN_NOT_ALLOWED']);

/** Statuses whose problems may carry Retry-After (sendProblem sets it whenever the error has `retryAfter`). */
const RETRY_AFTER_STATUSES = new Set([429, 503]);
export const RETRY_AFTER_HEADER = {
  description: 'Seconds to wait before trying again, when the gateway knows',
  schema: { type: 'integer' as const, minimum: 0, example: 10 },
};

/**
 * Documents problem responses. A status stands for every code of the error table with that status; a code for that
 * code alone (when a route can only give some of its status's codes). Each response lists its codes, with one example
 * per code. Examples and Retry-After are references into components, which buildOpenApiDocument fills, so the document
 * holds each once however many routes can answer with it.
 */
export function ApiProblems(...items: (number | ProblemCode)[]) {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const item of items) {
    const codes =
      typeof item === 'number'
        ? PROBLEM_CODES.filter((code) => PROBLEM_TABLE[code].status === item && !PREFLIGHT_ONLY.has(code))
        : [item];
    const status = typeof item === 'number' ? item : PROBLEM_TABLE[item].status;
    if (codes.length === 0) throw new Error(`ApiProblems: no problem code has status ${status}`);
    byStatus.set(status, [...new Set([...(byStatus.get(status) ?? []), ...codes])]);
  }
  return applyDecorators(
    ApiExtraModels(ProblemDocument),
    ...[...byStatus].map(([status, codes]) =>
      ApiResponse({
        status,
        description: `Problem document (RFC 9457); code: ${codes.join(' | ')}`,
        ...((RETRY_AFTER_STATUSES.has(status) || codes.includes('IDEMPOTENCY_REQUEST_IN_PROGRESS')) && {
          headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } },
        }),
        content: {
          [PROBLEM_MEDIA_TYPE]: {
            schema: { $ref: getSchemaPath(ProblemDocument) },
            examples: Object.fromEntries(codes.map((code) => [code, { $ref: problemExampleRef(code) }])),
          },
        },
      }),
    ),
  );
}
