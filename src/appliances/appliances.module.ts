import { Module } from '@nestjs/common';
import { ApplianceRegistry } from './appliance-registry.service.js';
import { AppliancesController } from './appliances.controller.js';
import { AppliancesService } from './appliances.service.js';

@Module({
  controllers: [AppliancesController],
  providers: [ApplianceRegistry, AppliancesService],
  exports: [ApplianceRegistry],
})
export class AppliancesModule {}
