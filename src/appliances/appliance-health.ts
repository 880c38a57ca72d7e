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
  /** The problem code of the last call, if it failed. Never a message: messages may carry appliance details. */
  lastError: ProblemCode | null;
}

/** The appliance's state as the last call (or probe) saw it. */
export class ApplianceHealth {
  private status: ApplianceStatus = 'unknown';
  private checkedAt = 0;
  private lastError: ProblemCode | null = null;

  succeeded(): void {
    this.status = 'ok';
    this.lastError = null;
    this.checkedAt = Date.now();
  }

  failed(error: GatewayError): void {
    this.status = STATUS_BY_CODE[error.code] ?? 'ok';
    this.lastError = error.code;
    this.checkedAt = Date.now();
  }

  ageMs(now = Date.now()): number {
    return this.checkedAt === 0 ? Number.POSITIVE_INFINITY : now - this.checkedAt;
  }

  view(): ApplianceHealthView {
    return {
      status: this.status,
      lastCheckedAt: this.checkedAt === 0 ? null : new Date(this.checkedAt).toISOString(),
      lastError: this.lastError,
    };
  }
}
