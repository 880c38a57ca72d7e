/**
 * `audit.store: off` (benchmarks and labs): the run path records nothing, and reading the trail is a 503. There is
 * no store at all, so nothing checks at run time whether the trail is on.
 */
import type { Readable } from 'node:stream';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../logging/logger.js';
import type { AuditCompletedInput, VerifyResult } from './audit-entry.js';
import type { AuditEventsPage } from './audit-reader.js';
import { AuditReader } from './audit-reader.js';
import { AuditRecorder } from './audit-recorder.js';
import { auditUnavailable } from './audit-unavailable.js';
import type { KeySettlement } from './idempotency-keys.js';
import { MemoryIdempotencyKeys } from './store/memory-idempotency-keys.js';

@Injectable()
export class OffAuditRecorder extends AuditRecorder implements OnModuleInit {
  constructor(
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly keys: MemoryIdempotencyKeys,
  ) {
    super();
  }

  onModuleInit(): void {
    this.logger.warn('audit.store is off: backup runs are NOT recorded; never run like this in production');
  }

  /** Nothing is written, so there is no entry to name: completions of these runs are not written either. */
  async requested(): Promise<string> {
    return '';
  }

  /**
   * Nothing is written, so nothing is drafted either (no id, time or canonical text that nothing keeps); the
   * Idempotency-Key answer a completion carries still settles its key (in memory), naming no entry.
   */
  async completed(input: AuditCompletedInput): Promise<string> {
    if (input.settles) await this.keys.complete({ ...input.settles, entryId: '' } as KeySettlement);
    return '';
  }

  async denied(): Promise<string> {
    return '';
  }

  async replayed(): Promise<string> {
    return '';
  }

  async rateLimited(): Promise<string> {
    return '';
  }

  /** Nothing to depend on: the replica is ready. */
  async healthy(): Promise<boolean> {
    return true;
  }
}

const OFF = 'The audit trail is off (audit.store: off): nothing is recorded.';

@Injectable()
export class OffAuditReader extends AuditReader {
  async events(): Promise<AuditEventsPage> {
    throw auditUnavailable(OFF);
  }

  async exportNdjson(): Promise<Readable> {
    throw auditUnavailable(OFF);
  }

  async verify(): Promise<VerifyResult> {
    throw auditUnavailable(OFF);
  }
}
