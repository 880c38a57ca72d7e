import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheckService } from '@nestjs/terminus';
import { Public } from '../auth/auth.decorators.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { GatewayError } from '../problems/gateway-error.js';
import { AppliancesIndicator } from './appliances.indicator.js';
import { AuditStoreIndicator } from './audit-store.indicator.js';
import { ShutdownState } from './shutdown-state.js';

/** Terminus' result: each indicator by name (`audit`, `appliances`) with its status and what it reports. */
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
  example: {
    status: 'ok',
    info: { audit: { status: 'up' }, appliances: { status: 'up', configured: 2, states: { 'vc-a': 'ok' } } },
    error: {},
    details: { audit: { status: 'up' }, appliances: { status: 'up', configured: 2, states: { 'vc-a': 'ok' } } },
  },
};

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly audit: AuditStoreIndicator,
    private readonly appliances: AppliancesIndicator,
    private readonly shutdown: ShutdownState,
  ) {}

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
    description: "Also reports each appliance's last known state, which never makes the gateway unready.",
    operationId: 'ready',
  })
  @ApiOkResponse({ description: 'Ready: the Terminus health check result', schema: READY_SCHEMA })
  @ApiProblems('SERVICE_UNAVAILABLE')
  async ready() {
    if (this.shutdown.shuttingDown) throw new GatewayError('SERVICE_UNAVAILABLE', 'The gateway is shutting down.');
    try {
      return await this.health.check([() => this.audit.check(), () => this.appliances.check()]);
    } catch {
      throw new GatewayError('SERVICE_UNAVAILABLE', 'The audit store cannot be used, so runs would be refused.');
    }
  }
}
