import { Module } from '@nestjs/common';
import { ApplianceRegistry } from './appliance-registry.service.js';
import { AppliancesController } from './appliances.controller.js';
import { AppliancesService } from './appliances.service.js';
import { BackupFreshness } from './backup-freshness.service.js';

@Module({
  controllers: [AppliancesController],
  providers: [ApplianceRegistry, AppliancesService, BackupFreshness],
  exports: [ApplianceRegistry, BackupFreshness],
})
export class AppliancesModule {}
