import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Caller, type RunCaller } from '../audit/run-caller.js';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { FleetRunDto, FleetRunDto207 } from './dto/fleet-run.dto.js';
import { FleetRunsService } from './fleet-runs.service.js';

@ApiTags('backups')
@Controller('backups/runs')
export class FleetRunsController {
  constructor(private readonly fleet: FleetRunsService) {}

  @Post()
  @HttpCode(207)
  @RequireScope('backups:run', 'any')
  @ApiOperation({
    summary: 'Run a schedule on many appliances (by id or tag)',
    description:
      'One result per selected appliance, each with the status and job or problem document the single run would give. Appliances the caller may not use are 403 results and receive nothing.',
    operationId: 'runFleet',
  })
  @ApiResponse({ status: 207, type: FleetRunDto207, description: 'Multi-Status' })
  @ApiProblems(400, 413, 415)
  run(
    @Body() body: FleetRunDto,
    @CurrentPrincipal() principal: Principal,
    @Caller() caller: RunCaller,
    @Req() request: FastifyRequest,
  ): Promise<FleetRunDto207> {
    return this.fleet.run(body, principal, caller, request.url.split('?')[0]);
  }
}
