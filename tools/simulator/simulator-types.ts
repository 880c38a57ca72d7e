/** Public types of the appliance simulator: its options, its schedule shape, its counters and request log. */
import type { IncomingHttpHeaders } from 'node:http';

export type DayOfWeek = 'MONDAY' | 'TUESDAY' | 'WEDNESDAY' | 'THURSDAY' | 'FRIDAY' | 'SATURDAY' | 'SUNDAY';

/** Recovery_Backup_Schedules_Info, as GET /api/appliance/recovery/backup/schedules sends it. */
export interface ScheduleInfo {
  parts: string[];
  location: string;
  location_user?: string;
  enable: boolean;
  recurrence_info?: { hour: number; minute: number; days?: DayOfWeek[] };
  retention_info?: { max_count: number };
  fast_backup?: boolean;
}

export interface ApplianceSimulatorOptions {
  /** The one account the appliance accepts (HTTP Basic at POST /api/session). */
  username: string;
  password: string;
  /** PEM key and certificate: serve HTTPS. Unset or false: plain HTTP. */
  tls?: { key: string | Buffer; cert: string | Buffer } | false;
  /** Idle time after which a session dies; each use refreshes it. Default 30 min (VMware's figure before 8.0). */
  sessionIdleMs?: number;
  /** How long a backup job runs before it ends. Default 3000. */
  jobDurationMs?: number;
  /** How jobs end once their duration has passed. Default SUCCEEDED. */
  jobOutcome?: 'SUCCEEDED' | 'FAILED';
  /** Schedule id -> info. Default: one schedule named `default` (what the appliance UI creates). */
  schedules?: Record<string, ScheduleInfo>;
  /** Live sessions allowed; the next login answers 503 sessionLimit as a real appliance does. Default unlimited. */
  maxSessions?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). After the first start, restarts reuse the port actually bound. */
  port?: number;
  /** server.keepAliveTimeout. Default 5000. */
  keepAliveTimeoutMs?: number;
  /** Time source for session expiry and job progress (tests drive time with it). Default Date.now. */
  clock?: () => number;
  /** How many requests `requests` retains (oldest dropped first). Default 10000. */
  maxRecordedRequests?: number;
}

/**
 * Live counters. Semantics, so that the gateway's safety tests can rely on them:
 * - every counter of an operation counts requests that REACHED the simulator and were recognised as that operation,
 *   whatever the outcome: faulted (reset, hang, status, ...), refused (401), invalid (400/404) included;
 * - `jobsStarted` / `logins` count what actually happened (a job started, a session created): a fault in phase
 *   'before' prevents it, a fault in phase 'after' does not (the side effect happened, only the answer was lost).
 */
export interface SimulatorCounters {
  /** Every HTTP request received, any path. */
  requests: number;
  /** POST /api/session received. */
  loginAttempts: number;
  /** Sessions created. */
  logins: number;
  /** Login attempts that created no session: bad or missing credentials, rejectCredentials, session limit, a fault. */
  failedLogins: number;
  /** Sessions ended by DELETE /api/session (204). */
  logouts: number;
  /** GET /api/session received. */
  sessionGets: number;
  /** Non-login calls answered 401 because the token was missing, unknown, expired, evicted or rejected. */
  rejectedSessions: number;
  /** POST .../schedules/{schedule}?action=run received. */
  runs: number;
  /** Run requests whose answer was replaced by a fault (any kind but latency), in either phase. */
  faultedRuns: number;
  /** Backup jobs actually started. */
  jobsStarted: number;
  /** GET .../backup/job/{id} received. */
  jobGets: number;
  /** GET .../backup/job received. */
  jobLists: number;
  /** GET .../backup/schedules received. */
  scheduleLists: number;
  /** GET .../backup/schedules/{schedule} received. */
  scheduleGets: number;
  /** Requests to which a fault was applied (latency included). */
  faultsApplied: number;
  /** Highest number of logins in flight at once (received, not yet answered or dropped). */
  maxConcurrentLogins: number;
}

export interface RecordedRequest {
  method: string;
  /** The request target exactly as received: path and query, percent-encoding untouched. */
  path: string;
  /** Node's lower-cased headers. */
  headers: IncomingHttpHeaders;
  /** The raw body as UTF-8 ('' when none). */
  body: string;
  /** The body parsed as JSON, when it is JSON; else undefined. */
  json: unknown;
  /** Clock time of arrival. */
  receivedAt: number;
}

export function zeroCounters(): SimulatorCounters {
  return {
    requests: 0,
    loginAttempts: 0,
    logins: 0,
    failedLogins: 0,
    logouts: 0,
    sessionGets: 0,
    rejectedSessions: 0,
    runs: 0,
    faultedRuns: 0,
    jobsStarted: 0,
    jobGets: 0,
    jobLists: 0,
    scheduleLists: 0,
    scheduleGets: 0,
    faultsApplied: 0,
    maxConcurrentLogins: 0,
  };
}

export function defaultSchedules(): Record<string, ScheduleInfo> {
  return {
    default: {
      parts: ['seat'],
      location: 'sftp://backup.example.test/vcsa',
      location_user: 'backup',
      enable: true,
      recurrence_info: { hour: 23, minute: 0, days: ['MONDAY', 'WEDNESDAY', 'FRIDAY'] },
      retention_info: { max_count: 3 },
      fast_backup: false,
    },
  };
}
