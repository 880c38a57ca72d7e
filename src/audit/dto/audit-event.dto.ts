import { ApiProperty } from '@nestjs/swagger';
import { extensibleEnum } from '../../http/extensible-enum.js';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, AUDIT_STAGES, AUTH_METHODS } from '../audit-entry.js';

const NULLABLE_STRING = { type: String, nullable: true } as const;
const NULLABLE_INTEGER = { type: 'integer', nullable: true } as const;

export class AuditActorDto {
  @ApiProperty({ example: 'alice', description: 'JWT `sub`, or the API key id' }) subject!: string;
  @ApiProperty({ ...NULLABLE_STRING, example: 'Alice Example' }) name!: string | null;
  @ApiProperty({ ...NULLABLE_STRING, example: 'portal' }) clientId!: string | null;
  @ApiProperty(extensibleEnum(AUTH_METHODS)) authMethod!: string;
  @ApiProperty({ example: '10.0.4.17' }) ip!: string;
  @ApiProperty({ ...NULLABLE_STRING, example: 'curl/8.5.0' }) userAgent!: string | null;
}

/** One audit entry, as stored and hashed, plus the derived `finalOutcome`. */
export class AuditEventDto {
  @ApiProperty({ type: 'integer', example: 1042, description: 'Position in the chain (1, 2, 3... without gaps)' })
  seq!: number;
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time', example: '2026-03-10T08:15:02.113Z' }) time!: string;
  @ApiProperty({ enum: AUDIT_STAGES }) stage!: string;
  @ApiProperty({ example: '3f0c9a52-4d0e-4d8e-9a51-0f3b2f8e7a11' }) requestId!: string;
  @ApiProperty(extensibleEnum(AUDIT_ACTIONS)) action!: string;
  @ApiProperty({ type: AuditActorDto }) actor!: AuditActorDto;
  @ApiProperty({ example: 'vc-prod-3' }) appliance!: string;
  @ApiProperty({ example: 'default' }) schedule!: string;
  @ApiProperty({ ...NULLABLE_STRING, example: 'before upgrade to 8.0.3' }) comment!: string | null;
  @ApiProperty({ ...extensibleEnum(AUDIT_OUTCOMES), nullable: true, description: 'Set on `completed` entries' })
  outcome!: string | null;
  @ApiProperty({ ...NULLABLE_INTEGER, example: 202, description: 'The status we answered with' })
  httpStatus!: number | null;
  @ApiProperty({ ...NULLABLE_STRING, example: 'BACKUP_IN_PROGRESS', description: 'Our problem code, if any' })
  code!: string | null;
  @ApiProperty({ ...NULLABLE_STRING, example: '20260310-081502-00000001' }) jobId!: string | null;
  @ApiProperty({ ...NULLABLE_INTEGER, example: 412 }) durationMs!: number | null;
  @ApiProperty({ ...NULLABLE_STRING, description: 'Set when the run was one of a fleet request' })
  fleetRequestId!: string | null;
  @ApiProperty({
    ...NULLABLE_STRING,
    format: 'uuid',
    description: 'On `completed`: the `requested` entry it completes',
  })
  requestedId!: string | null;
  @ApiProperty({
    ...NULLABLE_STRING,
    format: 'uuid',
    description: 'On `replayed`: the entry that recorded the original answer (Idempotency-Key retry)',
  })
  replayOf!: string | null;
  @ApiProperty({ ...NULLABLE_INTEGER, example: 7, description: 'On `rate_limited`: requests refused in the window' })
  count!: number | null;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$', description: "The previous entry's hash" }) prevHash!: string;
  @ApiProperty({
    pattern: '^[0-9a-f]{64}$',
    description: 'SHA-256 of the RFC 8785 canonical JSON of this entry without `hash` and `finalOutcome`',
  })
  hash!: string;
  @ApiProperty({
    ...extensibleEnum(AUDIT_OUTCOMES),
    description:
      "Derived when read, not hashed: a completed entry's outcome; for a requested entry, its completed entry's " +
      'outcome, or `unknown` while there is none (in flight, or the gateway died before the outcome was known)',
  })
  finalOutcome!: string;
}

export class AuditEventsPageDto {
  @ApiProperty({ type: [AuditEventDto], description: 'Newest first by `time`, then by `seq`' }) items!: AuditEventDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last' })
  nextCursor!: string | null;
}
