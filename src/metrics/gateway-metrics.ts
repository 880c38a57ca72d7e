import { Injectable } from '@nestjs/common';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { GatewayConfig } from '../config/gateway-config.js';

/** The full readiness report, names of appliances included (see health/readiness.ts). */
export interface DetailedReadiness {
  ready: boolean;
  reason?: string;
  result: unknown;
}

/**
 * Spool lines set aside as unreadable (audit-spool.ts). Module-level because the spool is built by the recorder
 * with its path and logger only; every GatewayMetrics registry exposes it (one spool per process).
 */
export const auditSpoolQuarantined = new Counter({
  name: 'backup_gateway_audit_spool_quarantined_total',
  help: 'Audit spool lines that were not readable drafts, set aside in the quarantine file beside the spool',
  registers: [],
});

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Every Prometheus metric of the gateway, in one registry. Labels never hold a caller-supplied free string: routes
 * are route templates (or `unmatched`), appliances only configured ids, outcomes and results from fixed sets; so
 * no request can grow the number of series.
 */
@Injectable()
export class GatewayMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Histogram({
    name: 'backup_gateway_http_request_duration_seconds',
    help: 'Time to answer a request, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });

  /**
   * Calls to appliances across the fleet, by operation and outcome. No appliance label: a histogram is 15 series per
   * label set, and with one set per appliance and operation /metrics grew to 9.5 MB (0.9 s of blocked event loop a
   * scrape) at 1,000 appliances, and a scrape at 2,000 ran the gateway out of heap (bench/README.md, "Metrics at
   * fleet size"). Each appliance has the two counters below instead: one series per outcome, and one for its time.
   */
  readonly upstreamRequests = new Histogram({
    name: 'backup_gateway_upstream_request_duration_seconds',
    help: 'Calls to appliances, by operation and outcome (an HTTP status class, or the transport failure)',
    labelNames: ['operation', 'outcome'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });

  readonly applianceRequests = new Counter({
    name: 'backup_gateway_appliance_requests_total',
    help: 'Calls to each appliance, by outcome (an HTTP status class, or the transport failure)',
    labelNames: ['appliance', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly applianceRequestSeconds = new Counter({
    name: 'backup_gateway_appliance_request_seconds_total',
    help: 'Time spent in calls to each appliance (divided by its calls: their mean duration)',
    labelNames: ['appliance'] as const,
    registers: [this.registry],
  });

  /** One call to an appliance: the fleet's histogram and the appliance's counters, together. */
  upstreamExchange(appliance: string, operation: string, outcome: string, seconds: number): void {
    this.upstreamRequests.observe({ operation, outcome }, seconds);
    this.applianceRequests.inc({ appliance, outcome });
    this.applianceRequestSeconds.inc({ appliance }, seconds);
  }

  readonly logins = new Counter({
    name: 'backup_gateway_vapi_logins_total',
    help: 'vAPI logins, by appliance and result (ok, rejected, failed, held_back)',
    labelNames: ['appliance', 'result'] as const,
    registers: [this.registry],
  });

  readonly runs = new Counter({
    name: 'backup_gateway_backup_runs_total',
    help: 'Backup runs, by appliance and audit outcome (accepted, rejected, failed, unknown, denied)',
    labelNames: ['appliance', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly auditWriteFailures = new Counter({
    name: 'backup_gateway_audit_write_failures_total',
    help: 'Audit entries the store did not take at once (they wait in the durable spool)',
    registers: [this.registry],
  });

  readonly auditSpoolDepth = new Gauge({
    name: 'backup_gateway_audit_spool_depth',
    help: 'Audit entries waiting in the durable spool for the store',
    registers: [this.registry],
  });

  readonly idempotentReplays = new Counter({
    name: 'backup_gateway_idempotent_replays_total',
    help: 'Run requests answered from a stored answer (Idempotency-Key retries)',
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'backup_gateway_rate_limited_requests_total',
    help: 'Requests refused by the rate limit, by kind (runs, reads)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly failedAuthentications = new Counter({
    name: 'backup_gateway_failed_authentications_total',
    help: 'Refused credentials (a wrong API key or token), by the kind presented (jwt, apiKey)',
    labelNames: ['credential'] as const,
    registers: [this.registry],
  });

  readonly breakerState = new Gauge({
    name: 'backup_gateway_appliance_breaker_state',
    help: "Each appliance's circuit breaker: 0 closed, 1 open (failing fast), 2 half-open (trying again)",
    labelNames: ['appliance'] as const,
    registers: [this.registry],
  });

  readonly lastSuccessfulBackup = new Gauge({
    name: 'backup_gateway_last_successful_backup_timestamp_seconds',
    help: "End of each appliance's newest successful backup, from its job list (alert on time() minus this)",
    labelNames: ['appliance'] as const,
    registers: [this.registry],
  });

  readonly redisAvailable = new Gauge({
    name: 'backup_gateway_redis_available',
    help: 'With redis.url: 1 while Redis answers, 0 while it is away or does not answer in time (each replica then works alone)',
    registers: [this.registry],
  });

  readonly watchers = new Gauge({
    name: 'backup_gateway_job_watchers',
    help: 'Open job event streams (SSE)',
    registers: [this.registry],
  });

  readonly notificationAttempts = new Counter({
    name: 'backup_gateway_notification_attempts_total',
    help: 'Webhook delivery attempts, by webhook id and result (delivered, retry, failed: given up after 24 h)',
    labelNames: ['webhook', 'result'] as const,
    registers: [this.registry],
  });

  readonly notificationFailures = new Counter({
    name: 'backup_gateway_notification_failures_total',
    help: 'Webhook delivery attempts that did not get a 2xx in time, by webhook id',
    labelNames: ['webhook'] as const,
    registers: [this.registry],
  });

  readonly notificationBacklog = new Gauge({
    name: 'backup_gateway_notification_backlog',
    help: 'Notifications waiting for delivery in the outbox (all replicas sharing it)',
    registers: [this.registry],
  });

  readonly notificationOldestPendingAge = new Gauge({
    name: 'backup_gateway_notification_oldest_pending_age_seconds',
    help: 'Age of the oldest notification waiting for delivery (0 when none waits)',
    registers: [this.registry],
  });

  /** `metrics.bearerToken`: what a scraper must present (see bearer-token.ts). */
  readonly bearerToken: string | undefined;

  private readinessReport: (() => Promise<DetailedReadiness>) | undefined;

  constructor(config: GatewayConfig) {
    // Process metrics (CPU, memory, event-loop lag, GC) sample on timers: only when someone can scrape them. Under
    // their stock names (process_cpu_seconds_total, nodejs_heap_size_used_bytes…), which the usual Node.js
    // dashboards and alerts query; only the gateway's own series carry its prefix.
    if (config.metrics.enabled) collectDefaultMetrics({ register: this.registry });
    this.registry.registerMetric(auditSpoolQuarantined);
    this.bearerToken = config.metrics.bearerToken;
  }

  /**
   * The metrics port is handed this object only (serve.ts), and it is where operators read the readiness details
   * the public /health/ready keeps to itself: the health module hands the report over here.
   */
  serveReadiness(report: () => Promise<DetailedReadiness>): void {
    this.readinessReport = report;
  }

  readiness(): Promise<DetailedReadiness> | undefined {
    return this.readinessReport?.();
  }
}
