import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength, ValidateIf } from 'class-validator';
import { IsDisplaySafeText } from '../../../common/display-safe-text.js';

export class RunScheduleDto {
  @ApiPropertyOptional({
    maxLength: 1000,
    description: "Forwarded as the appliance's backup comment",
    example: 'before upgrade to 8.0.3',
  })
  // Absent is fine; null is not (@IsOptional would let null through as if absent).
  @ValidateIf((dto: RunScheduleDto) => dto.comment !== undefined)
  @IsString()
  @MaxLength(1000)
  @IsDisplaySafeText()
  comment?: string;
}
