import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { OUTBOX_STATES, type OutboxState } from '../../audit/outbox.js';
import { ID_MESSAGE, ID_PATTERN } from '../../common/identifier.js';
import { NOTIFICATION_TYPES } from '../../config/gateway-config.js';
import { extensibleEnum } from '../../http/extensible-enum.js';

const MAX_LIMIT = 500;

export class DeliveriesQuery {
  @ApiPropertyOptional({ enum: OUTBOX_STATES, description: '`failed`: given up on after 24 h of retries' })
  @IsOptional()
  @IsIn(OUTBOX_STATES)
  state?: OutboxState;

  @ApiPropertyOptional({ pattern: ID_PATTERN.source, maxLength: 128, example: 'chat-ops' })
  @IsOptional()
  @Matches(ID_PATTERN, ID_MESSAGE)
  webhook?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_LIMIT)
  limit = 50;

  @ApiPropertyOptional({ description: 'The `nextCursor` of the previous page; opaque', maxLength: 400 })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,400}$/, { message: 'cursor must be a cursor this API issued' })
  cursor?: string;
}

/** One message for one webhook: an event, and where its delivery stands. */
export class DeliveryDto {
  @ApiProperty({ example: 'msg_4Rz0n3b1cXhW0p2Jx7kLq9sVtYbQm1aD', description: 'The `webhook-id` of every attempt' })
  id!: string;
  @ApiProperty({ description: "The CloudEvent's id (one event goes to each webhook that wants it)" })
  eventId!: string;
  @ApiProperty({ example: 'chat-ops' }) webhook!: string;
  @ApiProperty({ ...extensibleEnum(NOTIFICATION_TYPES), example: 'com.backupgateway.job.failed' }) type!: string;
  @ApiProperty({ example: 'vc-a', description: 'The appliance (a fleet run: its id)' }) subject!: string;
  @ApiProperty({ ...extensibleEnum(OUTBOX_STATES), example: 'pending' }) state!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'While pending: the next attempt' })
  nextAttemptAt!: string | null;
  @ApiProperty({ type: 'integer', example: 2 }) attempts!: number;
  @ApiProperty({ type: 'integer', nullable: true, example: 500, description: "The receiver's last status" })
  lastStatus!: number | null;
  @ApiProperty({ type: String, nullable: true, example: 'the receiver answered 500' }) lastError!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) deliveredAt!: string | null;
}

export class DeliveriesPageDto {
  @ApiProperty({ type: [DeliveryDto], description: 'Newest first' }) items!: DeliveryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last' })
  nextCursor!: string | null;
}
