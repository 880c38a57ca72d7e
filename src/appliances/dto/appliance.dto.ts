import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { extensibleEnum } from '../../http/extensible-enum.js';

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
  @ApiProperty({ type: String, nullable: true, example: null, description: 'Problem code of the last failed call' })
  lastError!: string | null;
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
