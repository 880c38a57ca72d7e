import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators.js';
import { HealthService } from './health.service.js';

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up', operationId: 'live' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Configuration loaded and dependencies usable; 503 otherwise', operationId: 'ready' })
  @ApiOkResponse({ schema: { example: { status: 'ok', checks: { config: 'ok' } } } })
  ready(): Promise<{ status: 'ok'; checks: Record<string, string> }> {
    return this.health.ready();
  }
}
