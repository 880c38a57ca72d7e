import { Controller, Get, Optional, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Outbox } from '../audit/outbox.js';
import { RequireScope } from '../auth/auth.decorators.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { decodeDeliveryCursor, encodeDeliveryCursor } from './delivery-cursor.js';
import { DeliveriesPageDto, DeliveriesQuery, type DeliveryDto } from './dto/deliveries.dto.js';

@ApiTags('notifications')
@Controller('notifications')
export class NotificationsController {
  constructor(@Optional() private readonly outbox?: Outbox) {}

  @Get('deliveries')
  @RequireScope('audit:read', 'all')
  @ApiOperation({
    summary: 'Webhook notifications and where their delivery stands, newest first',
    description:
      'One item per event and webhook: `pending` (waiting for its next attempt), `delivered`, or `failed` (given up ' +
      'on after 24 h of retries). Notifications name every appliance, so this needs the unscoped `audit:read`.',
    operationId: 'listNotificationDeliveries',
  })
  @ApiOkResponse({ type: DeliveriesPageDto })
  @ApiProblems(400, 429, 503)
  async deliveries(@Query() query: DeliveriesQuery): Promise<DeliveriesPageDto> {
    const before = query.cursor === undefined ? undefined : decodeDeliveryCursor(query.cursor);
    // Without an audit store there is no outbox, and nothing was ever sent.
    if (!this.outbox) return { items: [], nextCursor: null };
    const rows = await this.outbox.list({ state: query.state, webhook: query.webhook }, { limit: query.limit, before });
    const items: DeliveryDto[] = rows.map((row) => ({
      id: row.id,
      eventId: row.eventId,
      webhook: row.webhook,
      type: row.type,
      subject: row.subject,
      state: row.state,
      createdAt: row.createdAt,
      nextAttemptAt: row.state === 'pending' ? row.nextAttemptAt : null,
      attempts: row.attempts,
      lastStatus: row.lastStatus,
      lastError: row.lastError,
      deliveredAt: row.deliveredAt,
    }));
    const last = rows.at(-1);
    return {
      items,
      nextCursor: last && rows.length === query.limit ? encodeDeliveryCursor(last) : null,
    };
  }
}
