import { Module } from '@nestjs/common';
import { AppliancesModule } from '../appliances/appliances.module.js';
import { DtoValidationPipe } from '../http/validation.pipe.js';
import { ClusterJobStatus } from './cluster-job-status.js';
import { JobFollower } from './job-follower.service.js';
import { JobTracker } from './job-tracker.service.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';
import { PolledEvents } from './polled-events.js';
import { IdempotentRuns } from './runs/idempotent-runs.service.js';
import { KeyedRuns } from './runs/keyed-runs.js';
import { RunAdmissionGuard } from './runs/run-admission.guard.js';
import { RunsController } from './runs/runs.controller.js';
import { RunsService } from './runs/runs.service.js';
import { SchedulesController } from './schedules.controller.js';
import { SchedulesService } from './schedules.service.js';
import { BackupTargets } from './waves/backup-targets.js';
import { FleetRunsController } from './waves/fleet-runs.controller.js';
import { FleetRunsService } from './waves/fleet-runs.service.js';
import { FleetWaves } from './waves/fleet-waves.service.js';

/**
 * Runs (the one use case that changes anything), fleet runs in waves (waves/), job status and schedules. The audit
 * trail, which also keeps the fleet runs, is global.
 */
@Module({
  imports: [AppliancesModule],
  controllers: [RunsController, FleetRunsController, JobsController, SchedulesController],
  providers: [
    RunsService,
    BackupTargets,
    FleetWaves,
    FleetRunsService,
    IdempotentRuns,
    RunAdmissionGuard,
    DtoValidationPipe,
    KeyedRuns,
    JobsService,
    PolledEvents,
    SchedulesService,
    JobTracker,
    ClusterJobStatus,
    JobFollower,
  ],
})
export class BackupsModule {}
