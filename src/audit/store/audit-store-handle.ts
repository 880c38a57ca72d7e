import type { Logger } from 'pino';
import { withTimeout } from '../../common/with-timeout.js';
import type { AuditStore } from './audit-store.js';

/** After a failed open, the next caller tries again no sooner than this. */
const REOPEN_INTERVAL_MS = 5000;
const PING_TIMEOUT_MS = 2000;

/**
 * The configured store and whether it is open. An unusable store does not stop the gateway: it starts, is not ready,
 * refuses runs, and each request or health check (at most every 5 s) tries to open the store again. The recorder
 * opens it at start-up and closes it last at shutdown; readers and the retention purge use it when it is open.
 * Built by AuditModule (a value, so that the store opens before Nest builds the gateway) and injected by its class.
 */
export class AuditStoreHandle {
  private isOpen = false;
  private closed = false;
  private opening: Promise<AuditStore | undefined> | undefined;
  private lastOpenAttempt = 0;

  constructor(
    private readonly store: AuditStore,
    private readonly logger: Logger,
  ) {}

  get kind(): AuditStore['kind'] {
    return this.store.kind;
  }

  /** The open store, or undefined while it cannot be opened (or after close()). */
  async open(): Promise<AuditStore | undefined> {
    if (this.isOpen) return this.store;
    if (this.closed) return undefined;
    if (!this.opening) {
      if (Date.now() - this.lastOpenAttempt < REOPEN_INTERVAL_MS) return undefined;
      this.lastOpenAttempt = Date.now();
      this.opening = this.store
        .open()
        .then(
          () => {
            this.isOpen = true;
            this.logger.info({ store: this.store.kind }, 'audit store open');
            return this.store;
          },
          (error: unknown) => {
            this.logger.error(
              { err: error, store: this.store.kind },
              'audit store cannot be opened: runs are refused (AUDIT_UNAVAILABLE) until it can',
            );
            return undefined;
          },
        )
        .finally(() => {
          this.opening = undefined;
        });
    }
    return this.opening;
  }

  /** Open and answering within 2 s: what /health/ready reports. */
  async healthy(): Promise<boolean> {
    const store = await this.open();
    if (!store) return false;
    try {
      await withTimeout(store.ping(), PING_TIMEOUT_MS, 'audit store ping timed out');
      return true;
    } catch {
      return false;
    }
  }

  /** For good: nothing reopens it afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await this.opening;
    if (!this.isOpen) return;
    this.isOpen = false;
    await this.store.close().catch((error) => this.logger.error({ err: error }, 'closing the audit store failed'));
  }
}
