import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators.js';
import { type CallOrigin, Origin } from '../context/call-origin.js';
import { ApiIdParams } from '../http/api-id-param.decorator.js';
import { IdentifierPipe } from '../http/identifier.pipe.js';
import { NoQuery } from '../http/no-query.dto.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { ScheduleListDto } from './dto/schedule.dto.js';
import { SchedulesService } from './schedules.service.js';

@ApiTags('backups')
@Controller('appliances/:applianceId/backups/schedules')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @Get()
  @RequireScope('backups:read')
  @ApiOperation({
    summary: "The appliance's backup schedules (never the location's user or password)",
    operationId: 'listSchedules',
  })
  @ApiIdParams('applianceId')
  @ApiOkResponse({ type: ScheduleListDto })
  @ApiProblems(400, 404, 429, 502, 503, 504)
  async list(
    @Param('applianceId', IdentifierPipe) appliance: string,
    @Query() _query: NoQuery,
    @Origin() origin: CallOrigin,
  ): Promise<ScheduleListDto> {
    return { appliance, items: await this.schedules.list(appliance, origin.requestId) };
  }
}
