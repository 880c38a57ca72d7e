import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { extensibleEnum } from '../../http/extensible-enum.js';

export class AuditFirstBadDto {
  @ApiProperty({ description: 'The first entry that does not verify (for a truncated end: the id the head names)' })
  id!: string;
  @ApiProperty({
    ...extensibleEnum(['hash', 'link']),
    description: '`hash`: the entry was altered; `link`: an entry before it is missing, added or reordered',
  })
  reason!: 'hash' | 'link';
}

export class AuditVerifyResultDto {
  @ApiProperty() ok!: boolean;
  @ApiProperty({ type: 'integer', description: 'Entries verified (up to the first bad one)' }) count!: number;
  @ApiPropertyOptional({ type: AuditFirstBadDto, description: 'Present when ok is false' }) firstBad?: AuditFirstBadDto;
}
