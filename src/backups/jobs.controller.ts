import { Controller, Get, Param, Query, Sse } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { map, Observable } from 'rxjs';
import { RequireScope } from '../auth/auth.decorators.js';
import { RequestId } from '../common/request-id.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { BackupsService } from './backups.service.js';
import { JobListDto, JobStatusDto } from './dto/job.dto.js';
import { JobListQuery } from './dto/job-list.query.js';
import { ApplianceJobParams, ApplianceParams } from './dto/path-params.dto.js';

@ApiTags('jobs')
@Controller('appliances/:applianceId/backups/jobs')
export class JobsController {
  constructor(private readonly backups: BackupsService) {}

  @Get()
  @RequireScope('backups:read')
  @ApiOperation({ summary: "The appliance's recent backup jobs, newest first", operationId: 'listJobs' })
  @ApiOkResponse({ type: JobListDto })
  @ApiProblems(400, 404, 502, 503, 504)
  list(
    @Param() params: ApplianceParams,
    @Query() query: JobListQuery,
    @RequestId() requestId: string,
  ): Promise<JobListDto> {
    return this.backups.jobs(params.applianceId, query.limit, requestId);
  }

  @Get(':jobId')
  @RequireScope('backups:read')
  @ApiOperation({
    summary: "A backup job's current status",
    description:
      'Shared by every caller: at most one appliance request per jobs.pollIntervalMs per job, none once it ended.',
    operationId: 'getJob',
  })
  @ApiOkResponse({ type: JobStatusDto })
  @ApiProblems(400, 404, 502, 503, 504)
  job(@Param() params: ApplianceJobParams, @RequestId() requestId: string): Promise<JobStatusDto> {
    return this.backups.job(params.applianceId, params.jobId, requestId);
  }

  @Sse(':jobId/events')
  @RequireScope('backups:read')
  @ApiOperation({
    summary: "A job's progress as Server-Sent Events",
    description:
      'Event `progress` ({appliance, job}) whenever state or progress changes; `end` when it finished; `error` ({code}) if it cannot be read.',
    operationId: 'watchJob',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'An event stream' })
  @ApiProblems(400, 404)
  events(
    @Param() params: ApplianceJobParams,
    @RequestId() requestId: string,
  ): Observable<{ type: string; data: unknown }> {
    return this.backups
      .events(params.applianceId, params.jobId, requestId)
      .pipe(map((event) => ({ type: event.type, data: event.data })));
  }
}
