import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService } from '@nestjs/terminus';
import { Public } from '../auth/auth.decorators.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { GatewayError } from '../problems/gateway-error.js';
import { AppliancesIndicator } from './appliances.indicator.js';
import { AuditStoreIndicator } from './audit-store.indicator.js';
import { ShutdownState } from './shutdown-state.js';

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
  @ApiOkResponse({ schema: { type: 'object', properties: { status: { type: 'string', example: 'ok' } } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Ready for traffic: the audit store is usable and the gateway is not shutting down',
    description: "Also reports each appliance's last known state, which never makes the gateway unready.",
    operationId: 'ready',
  })
  @ApiOkResponse({ description: 'Terminus health check result' })
  @ApiServiceUnavailableResponse({ description: 'Not ready (problem document, code SERVICE_UNAVAILABLE)' })
  @ApiProblems(503)
  async ready() {
    if (this.shutdown.shuttingDown) throw new GatewayError('SERVICE_UNAVAILABLE', 'The gateway is shutting down.');
    try {
      return await this.health.check([() => this.audit.check(), () => this.appliances.check()]);
    } catch {
      throw new GatewayError('SERVICE_UNAVAILABLE', 'The audit store cannot be used, so runs would be refused.');
    }
  }
}
