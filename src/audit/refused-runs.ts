import { BeforeApplicationShutdown, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Principal } from '../auth/principal.js';
import type { CallOrigin } from '../context/call-origin.js';
import { AuditRecorder } from './audit-recorder.js';
import { requestedRunEntry } from './run-entries.js';

const WINDOW_MS = 60_000;

interface Window {
  count: number;
  startedAt: number;
  /** The first refused request of the window: who (and from where), under which request id. */
  entry: ReturnType<typeof requestedRunEntry>;
  timer: NodeJS.Timeout;
}

/**
 * Run requests refused by the rate limit are visible to auditors without one entry per refusal (a script in a loop
 * would otherwise flood the trail): per caller, the first refusal opens a one-minute window, and when it closes one
 * `rate_limited` entry records how many were refused, naming the first's request id. Windows still open at
 * shutdown are written then.
 */
@Injectable()
export class RateLimitedRuns implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly audit: AuditRecorder) {}

  note(principal: Principal, origin: CallOrigin): void {
    const open = this.windows.get(principal.caller);
    if (open) {
      open.count++;
      return;
    }
    const entry = requestedRunEntry(principal, origin, { appliance: '*', schedule: '*' });
    const timer = setTimeout(() => void this.close(principal.caller), WINDOW_MS);
    timer.unref();
    this.windows.set(principal.caller, { count: 1, startedAt: Date.now(), entry, timer });
  }

  /** While the audit store is still open (Nest closes it among the shutdown hooks): open windows are written now. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.windows.keys()].map((caller) => this.close(caller)));
  }

  /** Windows opened while the server drained: the recorder spools what its closed store cannot take. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.windows.keys()].map((caller) => this.close(caller)));
  }

  private async close(caller: string): Promise<void> {
    const window = this.windows.get(caller);
    if (!window) return;
    this.windows.delete(caller);
    clearTimeout(window.timer);
    await this.audit.rateLimited({
      ...window.entry,
      httpStatus: 429,
      code: 'RATE_LIMITED',
      count: window.count,
      durationMs: Date.now() - window.startedAt,
    });
  }
}
