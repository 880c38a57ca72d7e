import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { GatewayError } from '../problems/gateway-error.js';
import { Readiness } from './readiness.js';

/**
 * The shape of Terminus' result (each indicator by name with what it reports), as the released contract documents
 * it; this port now always answers it empty, so clients that read the fields still find them.
 */
const INDICATORS = {
  type: 'object' as const,
  additionalProperties: {
    type: 'object' as const,
    properties: { status: { type: 'string' as const, enum: ['up', 'down'] } },
    required: ['status'],
    additionalProperties: true,
  },
};
const READY_SCHEMA = {
  type: 'object' as const,
  properties: {
    status: { type: 'string' as const, enum: ['ok'] },
    info: INDICATORS,
    error: INDICATORS,
    details: INDICATORS,
  },
  required: ['status', 'details'],
  example: { status: 'ok', details: {} },
};

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up', operationId: 'live' })
  @ApiOkResponse({
    description: 'Alive',
    schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] },
  })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Ready for traffic: the audit store is usable and the gateway is not shutting down',
    description:
      "Ready or not, and nothing more: `details` is empty. Each indicator and each appliance's state are served on " +
      'the metrics port (`metrics.port`), for operators; appliance states never make the gateway unready.',
    operationId: 'ready',
  })
  @ApiOkResponse({ description: 'Ready', schema: READY_SCHEMA })
  @ApiProblems('SERVICE_UNAVAILABLE')
  async ready(): Promise<{ status: 'ok'; details: Record<string, never> }> {
    const report = await this.readiness.report();
    if (!report.ready) throw new GatewayError('SERVICE_UNAVAILABLE', report.reason ?? 'The gateway is not ready.');
    // `details` stays, empty: the released contract promises the field (and it names no appliance).
    return { status: 'ok', details: {} };
  }
}
