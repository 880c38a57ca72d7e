import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { extensibleEnum } from '../../http/extensible-enum.js';

/** The appliance's newest successful backup, from its own job list (`freshness` in the configuration). */
export class BackupFreshnessDto {
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'End time; null when it reports none',
  })
  lastSuccessAt!: string | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 3600 }) ageSeconds!: number | null;
  @ApiProperty({
    type: Boolean,
    nullable: true,
    description: 'Older than freshness.maxAgeHours, or none at all; null until the job list was first read',
  })
  stale!: boolean | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the job list was last read' })
  checkedAt!: string | null;
}

/** What a caller may know of an appliance: never its URL, username or password. */
export class ApplianceDto {
  @ApiProperty({ example: 'vc-a' }) id!: string;
  @ApiProperty({ example: 'vCenter A' }) name!: string;
  @ApiProperty({ type: [String], example: ['prod'] }) tags!: string[];
  @ApiProperty({
    ...extensibleEnum(['ok', 'unreachable', 'auth_failed', 'tls_error', 'unknown']),
    description: 'From the last call to the appliance, or a light probe when that is older than fleet.statusMaxAgeMs',
  })
  status!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastCheckedAt!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'Why the appliance is not ok (unreachable, login, TLS) as a problem code; null when it is',
  })
  lastError!: string | null;
  @ApiProperty({ type: BackupFreshnessDto }) backup!: BackupFreshnessDto;
}

export class ApplianceListDto {
  @ApiProperty({ type: [ApplianceDto] }) items!: ApplianceDto[];
}

export class ApplianceListQuery {
  @ApiPropertyOptional({ example: 'prod', description: 'Only appliances with this tag' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  tag?: string;
}
