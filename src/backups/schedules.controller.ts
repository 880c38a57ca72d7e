import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators.js';
import { RequestId } from '../common/request-id.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { BackupsService } from './backups.service.js';
import { ApplianceParams } from './dto/path-params.dto.js';
import { ScheduleListDto } from './dto/schedule.dto.js';

@ApiTags('backups')
@Controller('appliances/:applianceId/backups/schedules')
export class SchedulesController {
  constructor(private readonly backups: BackupsService) {}

  @Get()
  @RequireScope('backups:read')
  @ApiOperation({
    summary: "The appliance's backup schedules (never the location's user or password)",
    operationId: 'listSchedules',
  })
  @ApiOkResponse({ type: ScheduleListDto })
  @ApiProblems(400, 404, 502, 503, 504)
  list(@Param() params: ApplianceParams, @RequestId() requestId: string): Promise<ScheduleListDto> {
    return this.backups.schedules(params.applianceId, requestId);
  }
}
