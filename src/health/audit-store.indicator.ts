import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AuditRecorder } from '../audit/audit-recorder.js';

/** The audit store is a dependency: without it every run is refused, so the replica leaves rotation. */
@Injectable()
export class AuditStoreIndicator {
  constructor(
    private readonly audit: AuditRecorder,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check() {
    const indicator = this.indicators.check('audit');
    return (await this.audit.healthy()) ? indicator.up() : indicator.down({ reason: 'the audit store cannot be used' });
  }
}
