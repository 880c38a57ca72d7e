import { BeforeApplicationShutdown, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { AuditRecorder } from '../audit/audit-recorder.js';
import type { FailedAuthentications, PresentedCredential } from '../auth/failed-authentications.js';
import { clientAddress } from '../common/client-address.js';
import { GatewayConfig } from '../config/gateway-config.js';
import type { CallOrigin } from '../context/call-origin.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';

const WINDOW_MS = 60_000;
/** Addresses tracked at once; past it, new addresses share one window (a spray from many addresses is one flood). */
const MAX_ADDRESSES = 50_000;
const OVERFLOW = '*';

interface Window {
  failures: number;
  startedAt: number;
  credential: PresentedCredential;
  requestId: string;
  userAgent: string | undefined;
  ip: string;
}

/**
 * Failed authentications per client address (after `trustProxy`; IPv6 per /64, what one host is usually given) in
 * one-minute windows: past `auth.failedAttemptsPerMinute` the address is answered 429 until its window ends, before
 * any credential it sends is checked. Each window with failures becomes one `denied` audit entry (action
 * `auth.authenticate`, the number in `count`, the first attempt's request id), like rate-limited runs: guessing is
 * visible to auditors without one entry per guess. Per replica: each replica limits what reaches it.
 */
@Injectable()
export class FailedAuthenticationLimit
  implements FailedAuthentications, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly config: GatewayConfig,
    private readonly audit: AuditRecorder,
    private readonly metrics: GatewayMetrics,
  ) {
    this.sweeper = setInterval(() => this.closeEnded(Date.now()), 1_000);
    this.sweeper.unref();
  }

  retryAfter(ip: string): number {
    const limit = this.config.auth.failedAttemptsPerMinute;
    const window = this.windows.get(this.keyOf(ip, false));
    if (limit === 0 || !window || window.failures < limit) return 0;
    return Math.max(1, Math.ceil((window.startedAt + WINDOW_MS - Date.now()) / 1000));
  }

  failed(origin: CallOrigin, credential: PresentedCredential): void {
    if (this.config.auth.failedAttemptsPerMinute === 0) return;
    this.metrics.failedAuthentications.inc({ credential });
    const key = this.keyOf(origin.ip, true);
    const open = this.windows.get(key);
    if (open) {
      open.failures++;
      return;
    }
    this.windows.set(key, {
      failures: 1,
      startedAt: Date.now(),
      credential,
      requestId: origin.requestId,
      userAgent: origin.userAgent,
      ip: key,
    });
  }

  /** While the audit store is still open (Nest closes it among the shutdown hooks): open windows are written now. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.closeEnded(Number.POSITIVE_INFINITY);
  }

  /** Windows opened while the server drained: the recorder spools what its closed store cannot take. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweeper);
    await this.closeEnded(Number.POSITIVE_INFINITY);
  }

  private keyOf(ip: string, opening: boolean): string {
    const key = clientAddress(ip);
    if (this.windows.has(key) || !opening || this.windows.size < MAX_ADDRESSES) return key;
    return OVERFLOW;
  }

  private async closeEnded(now: number): Promise<void> {
    const ended: Window[] = [];
    for (const [key, window] of this.windows) {
      if (window.startedAt + WINDOW_MS > now) continue;
      this.windows.delete(key);
      ended.push(window);
    }
    await Promise.all(
      ended.map((window) =>
        this.audit.denied({
          requestId: window.requestId,
          action: 'auth.authenticate',
          actor: {
            subject: 'unauthenticated',
            authMethod: window.credential,
            ip: window.ip,
            userAgent: window.userAgent,
          },
          appliance: '*',
          schedule: '*',
          httpStatus: 401,
          code: 'UNAUTHENTICATED',
          durationMs: Math.min(WINDOW_MS, Date.now() - window.startedAt),
          count: window.failures,
        }),
      ),
    );
  }
}
