import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import { IsDisplaySafeText } from '../../../common/display-safe-text.js';
import { ID_MESSAGE, ID_PATTERN, ID_RULE } from '../../../common/identifier.js';
import { ProblemDocument } from '../../../problems/problem-document.js';
import { JobDto } from '../../dto/job.dto.js';

/** Select by `appliances` or by `tags` (appliances with any of them), not both. */
export class FleetRunDto {
  @ApiProperty({ example: 'default' })
  @Matches(ID_PATTERN, ID_MESSAGE)
  schedule!: string;

  @ApiPropertyOptional({ type: [String], example: ['vc-a', 'vc-b'] })
  @ValidateIf((dto: FleetRunDto) => dto.appliances !== undefined || dto.tags === undefined)
  @IsArray({ message: 'give appliances or tags' })
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @Matches(ID_PATTERN, { each: true, message: `each value in appliances must be ${ID_RULE}` })
  appliances?: string[];

  @ApiPropertyOptional({ type: [String], example: ['prod'] })
  @ValidateIf((dto: FleetRunDto) => dto.tags !== undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(128, { each: true })
  // Echoed in the problem detail when no appliance has them, which the console shows.
  @IsDisplaySafeText({ each: true })
  tags?: string[];

  @ApiPropertyOptional({ maxLength: 1000 })
  @ValidateIf((dto: FleetRunDto) => dto.comment !== undefined)
  @IsString()
  @MaxLength(1000)
  @IsDisplaySafeText()
  comment?: string;
}

export class FleetRunResultDto {
  @ApiProperty({ example: 'vc-a' }) appliance!: string;
  @ApiProperty({
    type: 'integer',
    example: 202,
    description: 'What the single run on this appliance would have answered',
  })
  status!: number;
  @ApiPropertyOptional({ type: JobDto }) job?: JobDto;
  @ApiPropertyOptional({ type: ProblemDocument }) problem?: ProblemDocument;
}

export class FleetRunResultsDto {
  @ApiProperty({ example: 'default' }) schedule!: string;
  @ApiProperty({ description: 'Shared by every appliance run of this request (each has `{requestId}.{applianceId}`)' })
  requestId!: string;
  @ApiProperty({ type: [FleetRunResultDto] }) results!: FleetRunResultDto[];
}
