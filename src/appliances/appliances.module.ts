import { Module } from '@nestjs/common';
import { ApplianceRegistry } from './appliance-registry.service.js';
import { AppliancesController } from './appliances.controller.js';

@Module({
  controllers: [AppliancesController],
  providers: [ApplianceRegistry],
  exports: [ApplianceRegistry],
})
export class AppliancesModule {}
