import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { extensibleEnum } from '../../http/extensible-enum.js';

export class JobMessageDto {
  @ApiProperty({ example: 'com.vmware.applmgmt.backup.job.started' }) id!: string;
  @ApiProperty({ example: 'Backup job started.' }) message!: string;
  @ApiProperty({ type: [String] }) args!: string[];
}

/** The appliance's BackupJobStatus in camelCase; further fields the appliance sends are passed on, camelCased. */
export class JobDto {
  @ApiProperty({ example: '20261126-120000-00000001' }) id!: string;
  @ApiProperty({ ...extensibleEnum(['FAILED', 'INPROGRESS', 'NONE', 'SUCCEEDED']), example: 'INPROGRESS' })
  state!: string;
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 100, example: 0 }) progress!: number;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) startTime!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'null until the job ends' })
  endTime!: string | null;
  @ApiProperty({ type: [JobMessageDto] }) messages!: JobMessageDto[];
}

export class RunAcceptedDto {
  @ApiProperty({ example: 'vc-a' }) appliance!: string;
  @ApiProperty({ example: 'default' }) schedule!: string;
  @ApiProperty({ type: JobDto }) job!: JobDto;
  @ApiProperty({ example: '3f0c9a52-4d0e-4d8e-9a51-0f3b2f8e7a11' }) requestId!: string;
}

export class JobStatusDto {
  @ApiProperty({ example: 'vc-a' }) appliance!: string;
  @ApiProperty({ type: JobDto }) job!: JobDto;
  @ApiPropertyOptional({ example: '3f0c9a52-4d0e-4d8e-9a51-0f3b2f8e7a11' }) requestId?: string;
}

export class JobListDto {
  @ApiProperty({ example: 'vc-a' }) appliance!: string;
  @ApiProperty({ type: [JobDto], description: 'Newest first' }) items!: JobDto[];
}
