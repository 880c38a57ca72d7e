import { Injectable } from '@nestjs/common';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import type { ScheduleDto } from './dto/schedule.dto.js';
import { toSchedule } from './schedule-mapper.js';

@Injectable()
export class SchedulesService {
  constructor(private readonly registry: ApplianceRegistry) {}

  async list(appliance: string, requestId: string): Promise<ScheduleDto[]> {
    const schedules = await this.registry.client(appliance).listSchedules(requestId);
    return Object.entries(schedules).map(([id, info]) => toSchedule(id, info ?? {}));
  }
}
