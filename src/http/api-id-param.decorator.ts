import { applyDecorators } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { ID_PATTERN } from '../common/identifier.js';

const EXAMPLES: Record<string, string> = {
  applianceId: 'vc-a',
  scheduleId: 'default',
  jobId: '20261126-120000-00000001',
};

/** Documents path identifiers as IdentifierPipe checks them. */
export function ApiIdParams(...names: string[]) {
  return applyDecorators(
    ...names.map((name) =>
      ApiParam({
        name,
        required: true,
        schema: { type: 'string', pattern: ID_PATTERN.source, maxLength: 128, example: EXAMPLES[name] },
      }),
    ),
  );
}
