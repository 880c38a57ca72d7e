import { Module } from '@nestjs/common';
import { ApplianceRegistry } from './appliance-registry.service.js';
import { AppliancesController } from './appliances.controller.js';
import { AppliancesService } from './appliances.service.js';
import { BackupFreshness } from './backup-freshness.service.js';
import { FleetStatusSchedule } from './fleet-status-schedule.service.js';

@Module({
  controllers: [AppliancesController],
  providers: [ApplianceRegistry, AppliancesService, BackupFreshness, FleetStatusSchedule],
  exports: [ApplianceRegistry, BackupFreshness],
})
export class AppliancesModule {}
