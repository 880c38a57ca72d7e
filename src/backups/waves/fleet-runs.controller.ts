import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentPrincipal, RequireScope } from '../../auth/auth.decorators.js';
import type { Principal } from '../../auth/principal.js';
import { type CallOrigin, Origin } from '../../context/call-origin.js';
import { ApiIdParams } from '../../http/api-id-param.decorator.js';
import { EVENT_STREAM, sendEventStream } from '../../http/event-stream.js';
import { IdentifierPipe } from '../../http/identifier.pipe.js';
import { NoQuery } from '../../http/no-query.dto.js';
import { ApiProblems } from '../../problems/api-problems.decorator.js';
import { FleetRunStateDto } from './dto/fleet-run-state.dto.js';
import { FleetRunsService } from './fleet-runs.service.js';

const READERS =
  'Readable by the caller who started it and by callers with backups:read on every one of its appliances; to anyone ' +
  'else it is 404 FLEET_RUN_NOT_FOUND, as an id never used.';

/** A queued fleet run (POST /backups/runs with `Prefer: respond-async`) as a resource. Thin: FleetRunsService decides. */
@ApiTags('backups')
@Controller('backups/runs/:fleetRunId')
export class FleetRunsController {
  constructor(private readonly fleetRuns: FleetRunsService) {}

  @Get()
  @RequireScope('backups:read', 'use-case')
  @ApiOperation({
    summary: 'A fleet run in waves: its members and their states',
    description: READERS,
    operationId: 'getFleetRun',
  })
  @ApiIdParams('fleetRunId')
  @ApiOkResponse({ type: FleetRunStateDto })
  @ApiProblems(400, 404, 429, 503)
  get(
    @Param('fleetRunId', IdentifierPipe) id: string,
    @Query() _query: NoQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<FleetRunStateDto> {
    return this.fleetRuns.get(principal, id);
  }

  @Get('events')
  @RequireScope('backups:read', 'use-case')
  @ApiOperation({
    summary: "A fleet run's progress as Server-Sent Events",
    description:
      'Event `progress` (the fleet run) whenever it changes; `end` once no member is queued or running; `error` ' +
      `({code}) if it cannot be read. ${READERS}`,
    operationId: 'watchFleetRun',
  })
  @ApiIdParams('fleetRunId')
  @ApiProduces(EVENT_STREAM)
  @ApiOkResponse({ description: 'An event stream', content: { [EVENT_STREAM]: { schema: { type: 'string' } } } })
  @ApiProblems(400, 404, 429, 503)
  async events(
    @Param('fleetRunId', IdentifierPipe) id: string,
    @Query() _query: NoQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    sendEventStream(request, reply, await this.fleetRuns.events(principal, id));
  }

  @Post('cancel')
  @HttpCode(200)
  @RequireScope('backups:run', 'use-case')
  @ApiOperation({
    summary: 'Cancel the queued members of a fleet run',
    description:
      'Queued members become `cancelled` and the run `cancelled`; backups already running go on to their end (the ' +
      'vAPI cannot stop one). By the caller who started it, or with backups:run on every one of its appliances. ' +
      'Audited (action `backup.fleet-run.cancel`): when the audit trail cannot record it, the answer is 503 ' +
      'AUDIT_UNAVAILABLE and nothing is cancelled.',
    operationId: 'cancelFleetRun',
  })
  @ApiIdParams('fleetRunId')
  @ApiOkResponse({ type: FleetRunStateDto })
  @ApiProblems(400, 404, 429, 503)
  cancel(
    @Param('fleetRunId', IdentifierPipe) id: string,
    @Query() _query: NoQuery,
    @CurrentPrincipal() principal: Principal,
    @Origin() origin: CallOrigin,
  ): Promise<FleetRunStateDto> {
    return this.fleetRuns.cancel(principal, origin, id);
  }
}
