import { Module } from '@nestjs/common';
import { AppliancesModule } from '../appliances/appliances.module.js';
import { BackupsController } from './backups.controller.js';
import { BackupsService } from './backups.service.js';

@Module({
  imports: [AppliancesModule],
  controllers: [BackupsController],
  providers: [BackupsService],
})
export class BackupsModule {}
