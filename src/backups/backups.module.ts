import { Module } from '@nestjs/common';
import { AppliancesModule } from '../appliances/appliances.module.js';
import { ClusterJobStatus } from './cluster-job-status.js';
import { IdempotentRuns } from './idempotent-runs.service.js';
import { JobTracker } from './job-tracker.service.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';
import { RunsController } from './runs.controller.js';
import { RunsService } from './runs.service.js';
import { SchedulesController } from './schedules.controller.js';
import { SchedulesService } from './schedules.service.js';

/** Runs (the one use case that changes anything), job status and schedules. The audit trail is global. */
@Module({
  imports: [AppliancesModule],
  controllers: [RunsController, JobsController, SchedulesController],
  providers: [RunsService, IdempotentRuns, JobsService, SchedulesService, JobTracker, ClusterJobStatus],
})
export class BackupsModule {}
