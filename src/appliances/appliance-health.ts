import { Instant } from '../common/instant.js';
import type { GatewayError } from '../problems/gateway-error.js';
import type { ProblemCode } from '../problems/problem-codes.js';

export type ApplianceStatus = 'ok' | 'unreachable' | 'auth_failed' | 'tls_error' | 'unknown';

/** What a failure says about the appliance itself; failures about the request (404, 409...) say it is fine. */
const STATUS_BY_CODE: Partial<Record<ProblemCode, ApplianceStatus>> = {
  APPLIANCE_UNAVAILABLE: 'unreachable',
  APPLIANCE_TIMEOUT: 'unreachable',
  APPLIANCE_AUTH_FAILED: 'auth_failed',
  APPLIANCE_PERMISSION_DENIED: 'auth_failed',
  APPLIANCE_TLS_ERROR: 'tls_error',
};

export interface ApplianceHealthView {
  status: ApplianceStatus;
  lastCheckedAt: string | null;
  /**
   * Why the appliance itself is not ok (unreachable, login, TLS), as a problem code; null when it is. Never a
   * message: messages may carry appliance details.
   */
  lastError: ProblemCode | null;
}

/** The appliance's state as the last call (or probe) saw it. */
export class ApplianceHealth {
  private status: ApplianceStatus = 'unknown';
  private checkedAt: Instant | undefined;
  private lastError: ProblemCode | null = null;

  succeeded(): void {
    this.status = 'ok';
    this.lastError = null;
    this.checkedAt = new Instant(Date.now());
  }

  /**
   * A failed call. Only what it says about the appliance itself is kept: a caller's mistake the appliance answered
   * (JOB_NOT_FOUND, BACKUP_IN_PROGRESS) shows it reachable and logged in, and must not appear as its last error.
   */
  failed(error: GatewayError): void {
    const status = STATUS_BY_CODE[error.code];
    if (status === undefined) {
      this.succeeded();
      return;
    }
    this.status = status;
    this.lastError = error.code;
    this.checkedAt = new Instant(Date.now());
  }

  ageMs(now = Date.now()): number {
    return this.checkedAt === undefined ? Number.POSITIVE_INFINITY : now - this.checkedAt.ms;
  }

  view(): ApplianceHealthView {
    return {
      status: this.status,
      lastCheckedAt: this.checkedAt?.toISOString() ?? null,
      lastError: this.lastError,
    };
  }
}
