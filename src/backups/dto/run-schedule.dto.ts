import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class RunScheduleDto {
  @ApiPropertyOptional({
    maxLength: 1000,
    description: "Forwarded as the appliance's backup comment",
    example: 'before upgrade to 8.0.3',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  comment?: string;
}
