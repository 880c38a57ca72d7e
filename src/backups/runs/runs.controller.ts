import { Controller, HttpCode, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, RequireScope } from '../../auth/auth.decorators.js';
import type { Principal } from '../../auth/principal.js';
import { ApiIdempotencyKey, IDEMPOTENT_REPLAYED, LOCATION } from '../../http/api-headers.js';
import { ApiIdParams } from '../../http/api-id-param.decorator.js';
import { NoQuery } from '../../http/no-query.dto.js';
import { ApiProblems } from '../../problems/api-problems.decorator.js';
import { RunAcceptedDto } from '../dto/job.dto.js';
import { fleetRunView } from '../waves/fleet-run-view.js';
import { FleetWaves } from '../waves/fleet-waves.service.js';
import { prefersRespondAsync } from '../waves/prefer.js';
import { ApiPrefer, FLEET_RUN_LOCATION, PREFERENCE_APPLIED } from '../waves/prefer-headers.js';
import { FleetRunDto, FleetRunResultsDto } from './dto/fleet-run.dto.js';
import { RunScheduleDto } from './dto/run-schedule.dto.js';
import { TargetApplianceQuery } from './dto/target-appliance.query.js';
import { KeyedRuns } from './keyed-runs.js';
import { RunAdmissionGuard } from './run-admission.guard.js';
import { fleetQueuedAnswer, fleetRunAnswer, type RunAnswer, singleRunAnswer } from './run-answers.js';
import { Admitted, type AdmittedRun, type RunHttpRequest, RunRoute } from './run-route.js';
import { type RunKey, RunsService } from './runs.service.js';

const RUN_PROBLEMS = [400, 404, 409, 413, 415, 422, 429, 502, 503, 504];
/** The body is optional: a run without a comment needs none (generated clients and Swagger UI must not demand one). */
const OPTIONAL_BODY = { type: RunScheduleDto, required: false };
const ACCEPTED = { type: RunAcceptedDto, headers: { Location: LOCATION, 'Idempotent-Replayed': IDEMPOTENT_REPLAYED } };

/**
 * Thin: each route maps HTTP to the run use case and returns its answer. Admission (RunAdmissionGuard) comes first;
 * the Idempotency-Key and its stored answer are KeyedRuns'; a single run's problem goes to the exception filter.
 */
@ApiTags('backups')
@ApiIdempotencyKey()
@UseGuards(RunAdmissionGuard)
@Controller()
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly keyed: KeyedRuns,
    private readonly waves: FleetWaves,
  ) {}

  @Post('appliances/:applianceId/backups/schedules/:scheduleId/run')
  @RequireScope('backups:run', 'use-case')
  @RunRoute({ target: 'path', ids: ['applianceId', 'scheduleId'], query: NoQuery, body: RunScheduleDto })
  @HttpCode(202)
  @ApiOperation({ summary: 'Run a backup schedule on an appliance', operationId: 'runSchedule' })
  @ApiIdParams('applianceId', 'scheduleId')
  @ApiBody(OPTIONAL_BODY)
  @ApiAcceptedResponse(ACCEPTED)
  @ApiProblems(...RUN_PROBLEMS)
  async run(
    @Admitted() run: AdmittedRun,
    @CurrentPrincipal() principal: Principal,
    @Req() request: RunHttpRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return this.keyed.answer(request, reply, 'single', (key) => this.runOne(principal, run, key));
  }

  @Post('backups/schedules/:scheduleId/run')
  @RequireScope('backups:run', 'use-case')
  @RunRoute({ target: 'default', ids: ['scheduleId'], query: TargetApplianceQuery, body: RunScheduleDto })
  @HttpCode(202)
  @ApiOperation({
    summary: 'Run a backup schedule on the default appliance (or ?appliance=)',
    operationId: 'runScheduleOnDefaultAppliance',
  })
  @ApiIdParams('scheduleId')
  @ApiBody(OPTIONAL_BODY)
  @ApiAcceptedResponse(ACCEPTED)
  @ApiProblems(...RUN_PROBLEMS)
  async runOnDefault(
    // Declared for the OpenAPI document (`?appliance=`); the guard has checked it and resolved the appliance.
    @Query() _query: TargetApplianceQuery,
    @Admitted() run: AdmittedRun,
    @CurrentPrincipal() principal: Principal,
    @Req() request: RunHttpRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return this.keyed.answer(request, reply, 'single', (key) => this.runOne(principal, run, key));
  }

  @Post('backups/runs')
  @RequireScope('backups:run', 'use-case')
  @RunRoute({ target: 'fleet', ids: [], query: NoQuery, body: FleetRunDto })
  @HttpCode(207)
  @ApiOperation({
    summary: 'Run a schedule on many appliances (by id or tag), at once or in waves per backup target',
    description:
      'One result per selected appliance, each with the status and job or problem document the single run would give. ' +
      'Appliances the caller may not use are 403 results and receive nothing; a tag selects only appliances the caller ' +
      "may see. At most `fleet.maxAppliances` members (500 by default), each counted toward the caller's runs per " +
      'minute. With an Idempotency-Key, members whose answer was final are replayed on a retry and only the others run. ' +
      'At most `fleet.perTargetConcurrency` backups started by the gateway run at once on one backup target (the ' +
      "`scheme://host:port` of the schedule's location): a member whose target is full is a 409 TARGET_BUSY result. " +
      'With `Prefer: respond-async` the answer is 202 and the fleet run (its Location): members wait (`queued`) and ' +
      'start as their target has room.',
    operationId: 'runFleet',
  })
  @ApiPrefer()
  @ApiResponse({
    status: 207,
    type: FleetRunResultsDto,
    description: 'Multi-Status',
    headers: { 'Idempotent-Replayed': IDEMPOTENT_REPLAYED },
  })
  // The 202's body is the FleetRunStateDto of GET /backups/runs/{fleetRunId}, said in words rather than as its content
  // schema: typed clients (openapi-fetch) type `data` as the union of every 2xx body, so a typed 202 would take
  // `results` away from every caller of the 207 that exists today (the console among them).
  @ApiResponse({
    status: 202,
    description:
      'Accepted (`Prefer: respond-async`): the fleet run as GET /backups/runs/{fleetRunId} gives it (FleetRunStateDto), ' +
      'its members queued; follow it at its Location',
    headers: {
      Location: FLEET_RUN_LOCATION,
      'Preference-Applied': PREFERENCE_APPLIED,
      'Idempotent-Replayed': IDEMPOTENT_REPLAYED,
    },
  })
  @ApiProblems(400, 'IDEMPOTENCY_REQUEST_IN_PROGRESS', 413, 415, 'IDEMPOTENCY_KEY_REUSED', 429, 503)
  @ApiBody({ type: FleetRunDto })
  async runFleet(
    @Admitted() run: AdmittedRun,
    @CurrentPrincipal() principal: Principal,
    @Req() request: RunHttpRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const { schedule, comment, appliances, tags } = run.body as FleetRunDto;
    const queued = prefersRespondAsync(request.headers.prefer);
    const body = await this.keyed.answer(
      request,
      reply,
      'fleet',
      async (key) => {
        const members = this.runs.members(principal, { appliances, tags });
        if (queued)
          return fleetQueuedAnswer(
            fleetRunView(await this.waves.queue(principal, run.origin, { schedule, comment }, members)),
          );
        const gate = this.waves.gate(principal, run.origin, { schedule, comment });
        try {
          const results = await this.runs.runFleet(principal, run.origin, { schedule, comment }, members, key, gate);
          return fleetRunAnswer(schedule, run.origin.requestId, results, request.url.split('?')[0]);
        } finally {
          gate.close();
        }
      },
      queued ? 'respond-async' : undefined,
    );
    // Sent here: its status is the answer's (202 or 207, or a replayed one), which Nest's @HttpCode would overwrite.
    return reply.send(body);
  }

  /** Both single-run routes, once the appliance is known: the job, or the run's problem for the exception filter. */
  private async runOne(principal: Principal, run: AdmittedRun, key: RunKey | undefined): Promise<RunAnswer> {
    const { appliance, schedule, comment, origin } = run;
    const result = await this.runs.runOne(principal, origin, appliance, { schedule, comment }, key);
    if ('error' in result) throw result.error;
    return singleRunAnswer(schedule, result, '');
  }
}
