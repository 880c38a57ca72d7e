import { Injectable } from '@nestjs/common';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import type { JobStatusDto, RunAcceptedDto } from './dto/job.dto.js';
import { toJob } from './job-mapper.js';

@Injectable()
export class BackupsService {
  constructor(private readonly appliances: ApplianceRegistry) {}

  async run(
    appliance: string,
    schedule: string,
    comment: string | undefined,
    requestId: string,
  ): Promise<RunAcceptedDto> {
    const status = await this.appliances.client(appliance).runSchedule(schedule, comment, requestId);
    return { appliance, schedule, job: toJob(status), requestId };
  }

  async job(appliance: string, jobId: string, requestId: string): Promise<JobStatusDto> {
    const status = await this.appliances.client(appliance).getJob(jobId, requestId);
    return { appliance, job: toJob(status), requestId };
  }
}
