import { Body, Controller, Headers, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiIdempotencyKey, IDEMPOTENT_REPLAYED, LOCATION } from '../http/api-headers.js';
import { ApiIdParams } from '../http/api-id-param.decorator.js';
import { IdentifierPipe } from '../http/identifier.pipe.js';
import { NoQuery } from '../http/no-query.dto.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { FleetRunDto, FleetRunDto207 } from './dto/fleet-run.dto.js';
import { RunAcceptedDto } from './dto/job.dto.js';
import { RunScheduleDto } from './dto/run-schedule.dto.js';
import { TargetApplianceQuery } from './dto/target-appliance.query.js';
import { IdempotentRuns } from './idempotent-runs.service.js';
import { fleetRunAnswer, sendAnswer, singleRunAnswer } from './run-answers.js';
import { RunsService } from './runs.service.js';

const RUN_PROBLEMS = [400, 404, 409, 413, 415, 422, 429, 502, 503, 504];
/** The body is optional: a run without a comment needs none (generated clients and Swagger UI must not demand one). */
const OPTIONAL_BODY = { type: RunScheduleDto, required: false };
const ACCEPTED = { type: RunAcceptedDto, headers: { Location: LOCATION, 'Idempotent-Replayed': IDEMPOTENT_REPLAYED } };

/** Thin: each route maps HTTP to the run use case, and its answer back (through Idempotency-Key replays). */
@ApiTags('backups')
@ApiIdempotencyKey()
@Controller()
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly idempotent: IdempotentRuns,
  ) {}

  @Post('appliances/:applianceId/backups/schedules/:scheduleId/run')
  @RequireScope('backups:run', 'use-case')
  @ApiOperation({ summary: 'Run a backup schedule on an appliance', operationId: 'runSchedule' })
  @ApiIdParams('applianceId', 'scheduleId')
  @ApiBody(OPTIONAL_BODY)
  @ApiAcceptedResponse(ACCEPTED)
  @ApiProblems(...RUN_PROBLEMS)
  async run(
    @Param('applianceId', IdentifierPipe) appliance: string,
    @Param('scheduleId', IdentifierPipe) schedule: string,
    @Query() _query: NoQuery,
    @Body() body: RunScheduleDto,
    @Headers('idempotency-key') key: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.runOne(principal, appliance, schedule, body, key, request, reply);
  }

  @Post('backups/schedules/:scheduleId/run')
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
    @Param('scheduleId', IdentifierPipe) schedule: string,
    @Query() query: TargetApplianceQuery,
    @Body() body: RunScheduleDto,
    @Headers('idempotency-key') key: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.runOne(principal, this.runs.target(query.appliance), schedule, body, key, request, reply);
  }

  @Post('backups/runs')
  @RequireScope('backups:run', 'use-case')
  @ApiOperation({
    summary: 'Run a schedule on many appliances (by id or tag)',
    description:
      'One result per selected appliance, each with the status and job or problem document the single run would give. ' +
      'Appliances the caller may not use are 403 results and receive nothing; a tag selects only appliances the caller ' +
      "may see. At most `fleet.maxAppliances` members (500 by default), each counted toward the caller's runs per " +
      'minute. With an Idempotency-Key, members whose answer was final are replayed on a retry and only the others run.',
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
    @Headers('idempotency-key') key: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { schedule, comment, appliances, tags } = body;
    const run = { schedule, comment };
    await this.runs.admit(principal, 'fleet', run);
    const members = this.runs.members(principal, { appliances, tags });
    const begun = await this.idempotent.begin(principal, {
      key,
      ...httpOf(request, body),
      run: { appliance: '*', ...run },
      members: members.length,
    });
    if ('replay' in begun) return sendAnswer(reply, begun.replay, true);
    const instance = pathOf(request);
    const runKey = begun.hold && { hold: begun.hold, instance };
    const results = await this.runs.runFleet(principal, run, members, runKey).catch(async (error: unknown) => {
      await this.idempotent.abandon(begun.hold);
      throw error;
    });
    const answer = fleetRunAnswer(schedule, results, instance);
    await this.idempotent.finish(begun.hold, answer, true);
    sendAnswer(reply, answer);
  }

  /** Both single-run routes, once the appliance is known. */
  private async runOne(
    principal: Principal,
    appliance: string,
    schedule: string,
    body: RunScheduleDto,
    key: string | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const run = { schedule, comment: body.comment };
    await this.runs.admit(principal, { appliance }, run);
    const begun = await this.idempotent.begin(principal, {
      key,
      ...httpOf(request, body),
      run: { appliance, ...run },
      members: 1,
    });
    if ('replay' in begun) return sendAnswer(reply, begun.replay, true);
    const instance = pathOf(request);
    const runKey = begun.hold && { hold: begun.hold, instance };
    const result = await this.runs.runOne(principal, appliance, run, runKey).catch(async (error: unknown) => {
      await this.idempotent.abandon(begun.hold);
      throw error;
    });
    const answer = singleRunAnswer(schedule, result, instance);
    await this.idempotent.finish(begun.hold, answer, false);
    sendAnswer(reply, answer);
  }
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?')[0];
}

function httpOf(request: FastifyRequest, body: unknown) {
  return { method: request.method, url: request.url, body };
}
