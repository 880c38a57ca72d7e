import { ApiProperty } from '@nestjs/swagger';

/** What a caller may know of an appliance: never its URL, username or password. */
export class ApplianceDto {
  @ApiProperty({ example: 'vc-a' }) id!: string;
  @ApiProperty({ example: 'vCenter A' }) name!: string;
  @ApiProperty({ type: [String], example: ['prod'] }) tags!: string[];
}

export class ApplianceListDto {
  @ApiProperty({ type: [ApplianceDto] }) items!: ApplianceDto[];
}
