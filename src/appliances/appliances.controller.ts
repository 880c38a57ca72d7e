import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { mayUseAppliance } from '../auth/scopes.js';
import { ApplianceRegistry } from './appliance-registry.service.js';
import { ApplianceListDto } from './dto/appliance.dto.js';

@ApiTags('appliances')
@Controller('appliances')
export class AppliancesController {
  constructor(private readonly registry: ApplianceRegistry) {}

  @Get()
  @RequireScope('backups:read', 'any')
  @ApiOperation({ summary: 'The configured appliances the caller may read', operationId: 'listAppliances' })
  @ApiOkResponse({ type: ApplianceListDto })
  list(@CurrentPrincipal() principal: Principal): ApplianceListDto {
    const items = this.registry
      .list()
      .filter((appliance) => mayUseAppliance(principal, 'backups:read', appliance.id))
      .map((appliance) => ({ id: appliance.id, name: appliance.name ?? appliance.id, tags: appliance.tags }));
    return { items };
  }
}
