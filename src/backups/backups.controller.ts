import { Body, Controller, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Caller, type RunCaller } from '../audit/run-caller.js';
import { RequireScope, TargetAppliance } from '../auth/auth.decorators.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { BackupsService } from './backups.service.js';
import { RunAcceptedDto } from './dto/job.dto.js';
import { ApplianceScheduleParams, ScheduleParams, TargetApplianceQuery } from './dto/path-params.dto.js';
import { RunScheduleDto } from './dto/run-schedule.dto.js';

const RUN_PROBLEMS = [400, 404, 409, 413, 415, 422, 502, 503, 504];
const LOCATION = { name: 'Location', description: 'The job: /appliances/{applianceId}/backups/jobs/{jobId}' };

@ApiTags('backups')
@ApiHeader({
  name: 'X-Request-Id',
  required: false,
  description: 'Your correlation id (≤128 of [A-Za-z0-9._-]); echoed and sent upstream',
})
@Controller()
export class BackupsController {
  constructor(private readonly backups: BackupsService) {}

  @Post('appliances/:applianceId/backups/schedules/:scheduleId/run')
  @HttpCode(202)
  @RequireScope('backups:run')
  @ApiOperation({ summary: 'Run a backup schedule on an appliance', operationId: 'runSchedule' })
  @ApiAcceptedResponse({ type: RunAcceptedDto, headers: { Location: LOCATION } })
  @ApiProblems(...RUN_PROBLEMS)
  async run(
    @Param() params: ApplianceScheduleParams,
    @Body() body: RunScheduleDto,
    @Caller() caller: RunCaller,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RunAcceptedDto> {
    const run = { appliance: params.applianceId, schedule: params.scheduleId, comment: body.comment };
    return this.accepted(reply, await this.backups.run(run, caller));
  }

  @Post('backups/schedules/:scheduleId/run')
  @HttpCode(202)
  @RequireScope('backups:run')
  @ApiOperation({
    summary: 'Run a backup schedule on the default appliance (or ?appliance=)',
    operationId: 'runScheduleOnDefaultAppliance',
  })
  @ApiAcceptedResponse({ type: RunAcceptedDto, headers: { Location: LOCATION } })
  @ApiProblems(...RUN_PROBLEMS)
  async runOnDefault(
    @Param() params: ScheduleParams,
    @Query() _query: TargetApplianceQuery,
    @TargetAppliance() appliance: string,
    @Body() body: RunScheduleDto,
    @Caller() caller: RunCaller,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RunAcceptedDto> {
    const run = { appliance, schedule: params.scheduleId, comment: body.comment };
    return this.accepted(reply, await this.backups.run(run, caller));
  }

  private accepted(reply: FastifyReply, result: RunAcceptedDto): RunAcceptedDto {
    reply.header(
      'location',
      `/appliances/${encodeURIComponent(result.appliance)}/backups/jobs/${encodeURIComponent(result.job.id)}`,
    );
    return result;
  }
}
