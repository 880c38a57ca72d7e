import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { GatewayError } from './gateway-error.js';
import { PROBLEM_TABLE, problemType } from './problem-codes.js';

class FieldErrorDto {
  @ApiProperty({ example: 'comment' }) field!: string;
  @ApiProperty({ example: 'comment must be shorter than or equal to 1000 characters' }) message!: string;
}

class UpstreamMessageDto {
  @ApiProperty({ example: 'com.vmware.applmgmt.err_backup_in_progress' }) id!: string;
  @ApiProperty({ example: 'A backup or restore is already in progress.' }) message!: string;
  @ApiProperty({ type: [String] }) args!: string[];
}

class UpstreamDto {
  @ApiProperty({ type: 'integer', example: 400, description: "The appliance's HTTP status" }) status!: number;
  @ApiPropertyOptional({ example: 'FEATURE_IN_USE', description: 'vAPI `error_type`, when the appliance sent one' })
  errorType?: string;
  @ApiProperty({ type: [UpstreamMessageDto] }) messages!: UpstreamMessageDto[];
}

/** RFC 9457 problem document, as every error of ours is sent (`application/problem+json`). */
export class ProblemDocument {
  @ApiProperty({ example: '/problems/backup-in-progress' }) type!: string;
  @ApiProperty({ example: 'A backup or restore is already running' }) title!: string;
  @ApiProperty({ type: 'integer', example: 409 }) status!: number;
  @ApiProperty({ example: 'Appliance vc-a is already running a backup or restore.' }) detail!: string;
  @ApiProperty({ example: '/appliances/vc-a/backups/schedules/default/run' }) instance!: string;
  @ApiProperty({
    // The named schema is built from PROBLEM_CODES with the document (openapi.ts): its values may grow.
    allOf: [{ $ref: '#/components/schemas/ProblemCode' }],
    example: 'BACKUP_IN_PROGRESS',
    description: 'Stable: program against it (the error table in the README)',
  })
  code!: string;
  @ApiProperty({ example: '3f0c9a52-4d0e-4d8e-9a51-0f3b2f8e7a11' }) requestId!: string;
  @ApiPropertyOptional({ example: 'vc-a' }) appliance?: string;
  @ApiPropertyOptional({
    example: 'sftp://nas-1.example.com:22',
    description: 'The backup target a TARGET_BUSY refusal is about (`scheme://host:port` of the schedule location)',
  })
  target?: string;
  @ApiPropertyOptional({ type: [FieldErrorDto] }) errors?: FieldErrorDto[];
  @ApiPropertyOptional({ type: UpstreamDto }) upstream?: UpstreamDto;
  @ApiPropertyOptional({
    description:
      'true when a run may have started although it failed (a timeout or a lost answer after sending): check the ' +
      "appliance's jobs before trying again, or retry with the same Idempotency-Key",
    example: true,
  })
  mayHaveStarted?: boolean;
}

/** The document for an error; the filter sends it, fleet results embed it, pre-routing answers write it raw. */
export function problemDocument(error: GatewayError, instance: string, requestId: string): ProblemDocument {
  const { appliance, target, errors, upstream, mayHaveStarted } = error.details;
  return {
    type: problemType(error.code),
    title: PROBLEM_TABLE[error.code].title,
    status: error.status,
    detail: error.detail,
    instance,
    code: error.code,
    requestId,
    ...(appliance !== undefined && { appliance }),
    ...(target !== undefined && { target }),
    ...(errors !== undefined && { errors }),
    ...(upstream !== undefined && { upstream }),
    ...(mayHaveStarted === true && { mayHaveStarted }),
  };
}
