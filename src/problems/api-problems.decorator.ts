import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { PROBLEM_TABLE, ProblemCode } from './problem-codes.js';
import { ProblemDocument } from './problem-document.js';

/** Documents problem responses by status, listing the codes each status can carry. */
export function ApiProblems(...statuses: number[]) {
  return applyDecorators(
    ApiExtraModels(ProblemDocument),
    ...statuses.map((status) => {
      const codes = (Object.keys(PROBLEM_TABLE) as ProblemCode[]).filter(
        (code) => PROBLEM_TABLE[code].status === status,
      );
      return ApiResponse({
        status,
        description: `Problem document (RFC 9457); code: ${codes.join(' | ')}`,
        content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDocument) } } },
      });
    }),
  );
}
