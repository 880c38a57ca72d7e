import { Module } from '@nestjs/common';
import { AppliancesModule } from '../appliances/appliances.module.js';
import { BackupsController } from './backups.controller.js';
import { BackupsService } from './backups.service.js';
import { FleetRunsController } from './fleet-runs.controller.js';
import { FleetRunsService } from './fleet-runs.service.js';
import { JobTracker } from './job-tracker.service.js';
import { JobsController } from './jobs.controller.js';
import { SchedulesController } from './schedules.controller.js';

@Module({
  imports: [AppliancesModule],
  controllers: [BackupsController, JobsController, SchedulesController, FleetRunsController],
  providers: [BackupsService, FleetRunsService, JobTracker],
})
export class BackupsModule {}
