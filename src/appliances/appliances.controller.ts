import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { accessPolicy } from '../auth/access-policy.js';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import { AppliancesService } from './appliances.service.js';
import { ApplianceListDto, ApplianceListQuery } from './dto/appliance.dto.js';

@ApiTags('appliances')
@Controller('appliances')
export class AppliancesController {
  constructor(private readonly appliances: AppliancesService) {}

  @Get()
  @RequireScope('backups:read', 'any')
  @ApiOperation({
    summary: 'The appliances the caller may read, with their live status',
    operationId: 'listAppliances',
  })
  @ApiOkResponse({ type: ApplianceListDto })
  @ApiProblems(400, 429, 503)
  async list(@CurrentPrincipal() principal: Principal, @Query() query: ApplianceListQuery): Promise<ApplianceListDto> {
    const items = await this.appliances.list((id) => accessPolicy.allows(principal, 'backups:read', id), query.tag);
    return { items };
  }
}
