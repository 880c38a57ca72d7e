import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.decorators.js';
import { type CallOrigin, Origin } from '../context/call-origin.js';
import { ApiIdParams } from '../http/api-id-param.decorator.js';
import { EVENT_STREAM, sendEventStream } from '../http/event-stream.js';
import { IdentifierPipe } from '../http/identifier.pipe.js';
import { NoQuery } from '../http/no-query.dto.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { JobListDto, JobStatusDto } from './dto/job.dto.js';
import { JobListQuery } from './dto/job-list.query.js';
import { JobsService } from './jobs.service.js';

@ApiTags('jobs')
@Controller('appliances/:applianceId/backups/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  @RequireScope('backups:read')
  @ApiOperation({ summary: "The appliance's recent backup jobs, newest first", operationId: 'listJobs' })
  @ApiIdParams('applianceId')
  @ApiOkResponse({ type: JobListDto })
  @ApiProblems(400, 404, 429, 502, 503, 504)
  async list(
    @Param('applianceId', IdentifierPipe) appliance: string,
    @Query() query: JobListQuery,
    @Origin() origin: CallOrigin,
  ): Promise<JobListDto> {
    return { appliance, items: await this.jobs.recent(appliance, query.limit, origin.requestId) };
  }

  @Get(':jobId')
  @RequireScope('backups:read')
  @ApiOperation({
    summary: "A backup job's current status",
    description:
      'Shared by every caller: at most one appliance request per jobs.pollIntervalMs per job, none once it ended.',
    operationId: 'getJob',
  })
  @ApiIdParams('applianceId', 'jobId')
  @ApiOkResponse({ type: JobStatusDto })
  @ApiProblems(400, 404, 429, 502, 503, 504)
  async job(
    @Param('applianceId', IdentifierPipe) appliance: string,
    @Param('jobId', IdentifierPipe) jobId: string,
    @Query() _query: NoQuery,
    @Origin() origin: CallOrigin,
  ): Promise<JobStatusDto> {
    return { appliance, job: await this.jobs.job(appliance, jobId), requestId: origin.requestId };
  }

  @Get(':jobId/events')
  @RequireScope('backups:read')
  @ApiOperation({
    summary: "A job's progress as Server-Sent Events",
    description:
      'Event `progress` ({appliance, job}) whenever state or progress changes; `end` when it finished; `error` ({code}) if it cannot be read.',
    operationId: 'watchJob',
  })
  @ApiIdParams('applianceId', 'jobId')
  @ApiProduces(EVENT_STREAM)
  @ApiOkResponse({ description: 'An event stream', content: { [EVENT_STREAM]: { schema: { type: 'string' } } } })
  @ApiProblems(400, 404, 429, 503)
  events(
    @Param('applianceId', IdentifierPipe) appliance: string,
    @Param('jobId', IdentifierPipe) jobId: string,
    @Query() _query: NoQuery,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): void {
    sendEventStream(request, reply, this.jobs.events(appliance, jobId));
  }
}
