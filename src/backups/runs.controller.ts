import { Body, Controller, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiIdempotencyKey, IDEMPOTENT_REPLAYED, LOCATION } from '../http/api-headers.js';
import { ApiIdParams } from '../http/api-id-param.decorator.js';
import { IdentifierPipe } from '../http/identifier.pipe.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { FleetRunDto, FleetRunDto207 } from './dto/fleet-run.dto.js';
import { RunAcceptedDto } from './dto/job.dto.js';
import { RunScheduleDto } from './dto/run-schedule.dto.js';
import { TargetApplianceQuery } from './dto/target-appliance.query.js';
import { accepted, fleetResponse } from './run-responses.js';
import { RunsService } from './runs.service.js';

const RUN_PROBLEMS = [400, 404, 409, 413, 415, 422, 429, 502, 503, 504];
/** The body is optional: a run without a comment needs none (generated clients and Swagger UI must not demand one). */
const OPTIONAL_BODY = { type: RunScheduleDto, required: false };
const ACCEPTED = { type: RunAcceptedDto, headers: { Location: LOCATION, 'Idempotent-Replayed': IDEMPOTENT_REPLAYED } };

@ApiTags('backups')
@ApiIdempotencyKey()
@Controller()
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Post('appliances/:applianceId/backups/schedules/:scheduleId/run')
  @HttpCode(202)
  @RequireScope('backups:run', 'use-case')
  @ApiOperation({ summary: 'Run a backup schedule on an appliance', operationId: 'runSchedule' })
  @ApiIdParams('applianceId', 'scheduleId')
  @ApiBody(OPTIONAL_BODY)
  @ApiAcceptedResponse(ACCEPTED)
  @ApiProblems(...RUN_PROBLEMS)
  async run(
    @Param('applianceId', IdentifierPipe) applianceId: string,
    @Param('scheduleId', IdentifierPipe) scheduleId: string,
    @Body() body: RunScheduleDto,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RunAcceptedDto> {
    const result = await this.runs.runOne(principal, applianceId, { schedule: scheduleId, comment: body.comment });
    return accepted(reply, scheduleId, result);
  }

  @Post('backups/schedules/:scheduleId/run')
  @HttpCode(202)
  @RequireScope('backups:run', 'use-case')
  @ApiOperation({
    summary: 'Run a backup schedule on the default appliance (or ?appliance=)',
    operationId: 'runScheduleOnDefaultAppliance',
  })
  @ApiIdParams('scheduleId')
  @ApiBody(OPTIONAL_BODY)
  @ApiAcceptedResponse(ACCEPTED)
  @ApiProblems(...RUN_PROBLEMS)
  async runOnDefault(
    @Param('scheduleId', IdentifierPipe) scheduleId: string,
    @Query() query: TargetApplianceQuery,
    @Body() body: RunScheduleDto,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RunAcceptedDto> {
    const result = await this.runs.runOne(principal, query.appliance, { schedule: scheduleId, comment: body.comment });
    return accepted(reply, scheduleId, result);
  }

  @Post('backups/runs')
  @HttpCode(207)
  @RequireScope('backups:run', 'use-case')
  @ApiOperation({
    summary: 'Run a schedule on many appliances (by id or tag)',
    description:
      'One result per selected appliance, each with the status and job or problem document the single run would give. Appliances the caller may not use are 403 results and receive nothing.',
    operationId: 'runFleet',
  })
  @ApiResponse({
    status: 207,
    type: FleetRunDto207,
    description: 'Multi-Status',
    headers: { 'Idempotent-Replayed': IDEMPOTENT_REPLAYED },
  })
  @ApiProblems(400, 'IDEMPOTENCY_REQUEST_IN_PROGRESS', 413, 415, 'IDEMPOTENCY_KEY_REUSED', 429, 503)
  async runFleet(
    @Body() body: FleetRunDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
  ): Promise<FleetRunDto207> {
    const { schedule, comment, appliances, tags } = body;
    const results = await this.runs.runFleet(principal, { schedule, comment }, { appliances, tags });
    return fleetResponse(schedule, results, request.url.split('?')[0]);
  }
}
