import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { ID_MESSAGE, ID_PATTERN } from '../../../common/identifier.js';

export class TargetApplianceQuery {
  @ApiPropertyOptional({
    pattern: ID_PATTERN.source,
    maxLength: 128,
    description: 'Appliance to run on; defaults to defaultAppliance',
    example: 'vc-a',
  })
  @IsOptional()
  @Matches(ID_PATTERN, ID_MESSAGE)
  appliance?: string;
}
