import { ApiProperty } from '@nestjs/swagger';

export class RecurrenceDto {
  @ApiProperty({ type: 'integer', nullable: true, example: 23 }) hour!: number | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 0 }) minute!: number | null;
  @ApiProperty({ type: [String], example: ['MONDAY', 'THURSDAY'], description: 'Empty: every day' }) days!: string[];
}

export class RetentionDto {
  @ApiProperty({ type: 'integer', nullable: true, example: 3 }) maxCount!: number | null;
}

/** A backup schedule of an appliance. Never its location user or password. */
export class ScheduleDto {
  @ApiProperty({ example: 'default' }) id!: string;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ type: RecurrenceDto, nullable: true }) recurrence!: RecurrenceDto | null;
  @ApiProperty({ type: RetentionDto, nullable: true }) retention!: RetentionDto | null;
  @ApiProperty({ type: [String], example: ['seat'] }) parts!: string[];
  @ApiProperty({ type: String, nullable: true, example: 'sftp://backup.example.com/vcsa' }) location!: string | null;
}

export class ScheduleListDto {
  @ApiProperty({ example: 'vc-a' }) appliance!: string;
  @ApiProperty({ type: [ScheduleDto] }) items!: ScheduleDto[];
}
