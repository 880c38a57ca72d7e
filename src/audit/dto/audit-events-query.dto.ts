import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ID_MESSAGE, ID_PATTERN } from '../../common/identifier.js';
import { AUDIT_OUTCOMES, AUDIT_STAGES, type AuditOutcome, type AuditStage } from '../audit-entry.js';

const ID_DOC = { pattern: ID_PATTERN.source, maxLength: 128 };

/**
 * A date, or a date-time with `Z` or an offset: a time without one would be read in the server's zone.
 * class-validator's IsISO8601 (strict) then rejects impossible dates such as 2026-02-30.
 */
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const INSTANT_MESSAGE = {
  message: '$property must be an ISO 8601 date (2026-03-10) or date-time with Z or an offset (2026-03-10T08:00:00Z)',
};
const INSTANT_DOC = { format: 'date-time', type: String };

const MAX_EVENTS_LIMIT = 500;

export class AuditEventsQuery {
  @ApiPropertyOptional({ ...ID_DOC, example: 'vc-prod-3' })
  @IsOptional()
  @Matches(ID_PATTERN, ID_MESSAGE)
  appliance?: string;

  @ApiPropertyOptional({
    maxLength: 256,
    description: "The actor's subject: JWT `sub`, or the API key's id",
    example: 'alice',
  })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  actor?: string;

  @ApiPropertyOptional({ ...ID_DOC, example: 'default' })
  @IsOptional()
  @Matches(ID_PATTERN, ID_MESSAGE)
  schedule?: string;

  @ApiPropertyOptional({
    enum: AUDIT_OUTCOMES,
    description: 'Matches `finalOutcome`: a requested entry whose run never completed matches `unknown`',
  })
  @IsOptional()
  @IsIn(AUDIT_OUTCOMES)
  outcome?: AuditOutcome;

  @ApiPropertyOptional({ enum: AUDIT_STAGES })
  @IsOptional()
  @IsIn(AUDIT_STAGES)
  stage?: AuditStage;

  @ApiPropertyOptional({
    ...INSTANT_DOC,
    description: 'Entries at or after this instant',
    example: '2026-03-10T00:00:00Z',
  })
  @IsOptional()
  @Matches(INSTANT, INSTANT_MESSAGE)
  @IsISO8601({ strict: true }, INSTANT_MESSAGE)
  since?: string;

  @ApiPropertyOptional({ ...INSTANT_DOC, description: 'Entries before this instant', example: '2026-03-11T00:00:00Z' })
  @IsOptional()
  @Matches(INSTANT, INSTANT_MESSAGE)
  @IsISO8601({ strict: true }, INSTANT_MESSAGE)
  until?: string;

  @ApiPropertyOptional({ maxLength: 128, example: '3f0c9a52-4d0e-4d8e-9a51-0f3b2f8e7a11' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  requestId?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_EVENTS_LIMIT,
    default: 50,
    description: 'Page size (ignored by the NDJSON export, which streams every match)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_EVENTS_LIMIT)
  limit = 50;

  @ApiPropertyOptional({ description: 'The `nextCursor` of the previous page; opaque', maxLength: 64 })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'cursor must be a cursor this API issued' })
  cursor?: string;
}
