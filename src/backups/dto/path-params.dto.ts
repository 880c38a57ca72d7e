import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { ID_PATTERN } from '../../common/identifier.js';

const ID_MESSAGE = { message: `$property must match ${ID_PATTERN.source}` };
const ID_DOC = { pattern: ID_PATTERN.source, maxLength: 128 };

export class ScheduleParams {
  @ApiProperty({ ...ID_DOC, example: 'default', description: "The appliance's backup schedule id" })
  @Matches(ID_PATTERN, ID_MESSAGE)
  scheduleId!: string;
}

export class ApplianceScheduleParams extends ScheduleParams {
  @ApiProperty({ ...ID_DOC, example: 'vc-a' })
  @Matches(ID_PATTERN, ID_MESSAGE)
  applianceId!: string;
}

export class ApplianceParams {
  @ApiProperty({ ...ID_DOC, example: 'vc-a' })
  @Matches(ID_PATTERN, ID_MESSAGE)
  applianceId!: string;
}

export class ApplianceJobParams {
  @ApiProperty({ ...ID_DOC, example: 'vc-a' })
  @Matches(ID_PATTERN, ID_MESSAGE)
  applianceId!: string;

  @ApiProperty({ ...ID_DOC, example: '20261126-120000-00000001' })
  @Matches(ID_PATTERN, ID_MESSAGE)
  jobId!: string;
}

export class TargetApplianceQuery {
  @ApiPropertyOptional({ ...ID_DOC, description: 'Appliance to run on; defaults to defaultAppliance', example: 'vc-a' })
  @IsOptional()
  @Matches(ID_PATTERN, ID_MESSAGE)
  appliance?: string;
}
