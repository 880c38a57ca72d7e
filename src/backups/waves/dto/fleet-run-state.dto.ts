import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { extensibleEnum } from '../../../http/extensible-enum.js';
import { ProblemDocument } from '../../../problems/problem-document.js';

export class FleetRunActorDto {
  @ApiProperty({ example: 'jwt:https://login.example.com:alice', description: 'The CallerId of who started it' })
  subject!: string;
  @ApiPropertyOptional({ example: 'Alice Example' }) name?: string;
  @ApiProperty({ example: 'jwt' }) authMethod!: string;
}

export class FleetRunMemberDto {
  @ApiProperty({ example: 'vc-a' }) appliance!: string;
  @ApiProperty({
    example: 'sftp://nas-1.example.com:22',
    description: "`scheme://host:port` of the schedule's location as the appliance reports it (`unknown` if unread)",
  })
  target!: string;
  @ApiProperty({
    ...extensibleEnum(['queued', 'running', 'succeeded', 'failed', 'unknown', 'cancelled']),
    example: 'queued',
    description: '`unknown`: its run may have started, or its job could no longer be read',
  })
  state!: string;
  @ApiPropertyOptional({ example: '20261126-120000-00000001' }) jobId?: string;
  @ApiPropertyOptional({
    type: ProblemDocument,
    description: 'Why it failed, or why its outcome is unknown (the problem its single run would have answered)',
  })
  error?: ProblemDocument;
  @ApiPropertyOptional({ format: 'date-time', type: String }) startedAt?: string;
  @ApiPropertyOptional({ format: 'date-time', type: String }) endedAt?: string;
}

/** A fleet run in waves: its members start as their backup target has room. */
export class FleetRunStateDto {
  @ApiProperty({ example: '6f1c2b9e-0d4a-4f6e-9a51-0f3b2f8e7a11' }) id!: string;
  @ApiProperty({
    ...extensibleEnum(['running', 'completed', 'cancelled']),
    example: 'running',
    description: '`cancelled`: its queued members were cancelled (members already running go on to their end)',
  })
  state!: string;
  @ApiProperty({ format: 'date-time', type: String }) createdAt!: string;
  @ApiPropertyOptional({ format: 'date-time', type: String, description: 'Once no member is queued or running' })
  endedAt?: string;
  @ApiProperty({ type: FleetRunActorDto }) actor!: FleetRunActorDto;
  @ApiProperty({ example: 'default' }) schedule!: string;
  @ApiPropertyOptional({ example: 'quarterly' }) comment?: string;
  @ApiProperty({ description: 'Of the request that started it; each member runs as `{requestId}.{applianceId}`' })
  requestId!: string;
  @ApiProperty({ type: [FleetRunMemberDto], description: 'In the order they were asked for (the queue order)' })
  members!: FleetRunMemberDto[];
}
