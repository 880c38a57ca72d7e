import { Test } from '@nestjs/testing';
import type { Logger } from 'pino';
import { ApplianceRegistry } from '../../src/appliances/appliance-registry.service.js';
import { BackupFreshness } from '../../src/appliances/backup-freshness.service.js';
import { ClusterJobStatus } from '../../src/backups/cluster-job-status.js';
import { JobTracker } from '../../src/backups/job-tracker.service.js';
import { ConfigModule } from '../../src/config/config.module.js';
import type { GatewayConfig } from '../../src/config/gateway-config.js';
import { LoggingModule } from '../../src/logging/logging.module.js';
import { MetricsModule } from '../../src/metrics/metrics.module.js';
import { RedisModule } from '../../src/redis/redis.module.js';
import { silentLogger } from './run-fakes.js';

/**
 * The real JobTracker and ClusterJobStatus, built by Nest from the providers the gateway uses (SharedState from
 * RedisModule: without `redis.url`, this one process polls alone), in front of `registry`, a fake of the appliances.
 */
export async function jobTracker(
  registry: ApplianceRegistry,
  config: GatewayConfig,
  logger: Logger = silentLogger(),
): Promise<JobTracker> {
  const module = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(config),
      LoggingModule.forRoot(logger),
      MetricsModule.forConfig(config),
      RedisModule,
    ],
    providers: [JobTracker, ClusterJobStatus, BackupFreshness, { provide: ApplianceRegistry, useValue: registry }],
  }).compile();
  return module.get(JobTracker);
}
