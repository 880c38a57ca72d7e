import { Axios, type AxiosResponse } from 'axios';
import type { Logger } from 'pino';
import type { Pool } from 'undici';
import { exceedsJsonDepth } from '../common/json-depth.js';
import { loadUndici } from '../common/load-undici.js';
import { OnFirstUse } from '../common/on-first-use.js';
import type { ApplianceConfig, BreakerConfig, LimitsConfig } from '../config/gateway-config.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import {
  isBrokenConnection,
  isTimeout,
  malformedAnswer,
  noAnswerWithin,
  requireJobStatus,
  requireRecord,
  requireStringList,
  serviceAccountRejected,
  sessionRefused,
  transportError,
  type VapiOperation,
} from '../problems/appliance-errors.js';
import { GatewayError } from '../problems/gateway-error.js';
import { vapiErrorToGatewayError } from '../problems/vapi-error-map.js';
import { ApplianceBreaker } from './appliance-breaker.js';
import { ApplianceHealth } from './appliance-health.js';
import { ApplianceLane, type LaneName } from './appliance-lane.js';
import { tlsConnector } from './tls-connector.js';
import { undiciAdapter } from './undici-axios-adapter.js';
import { VapiSession } from './vapi-session.js';

/** The appliance's BackupJobStatus, as vAPI sends it (snake_case). */
export interface VapiJobStatus {
  id: string;
  state: string;
  progress: number;
  start_time?: string;
  end_time?: string;
  messages?: { id?: string; default_message?: string; args?: unknown[] }[];
  [other: string]: unknown;
}

interface Call extends VapiOperation {
  /** A fixed name for metrics (never a caller's string). */
  operation: 'run' | 'get_job' | 'list_jobs' | 'list_schedules' | 'probe';
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: string;
  /** Reads may be retried after a network failure; a run never is (it may have started a backup). */
  idempotent: boolean;
  lane: LaneName;
  /** Overrides the appliance's timeoutMs (status probes are kept short). */
  timeoutMs?: number;
  /**
   * The request this call serves, sent as X-Request-Id so the appliance's logs can be matched with ours. Reads shared
   * by many callers (a job's status, a probe) serve none of them and send none.
   */
  requestId?: string;
}

const READ_RETRY_DELAYS_MS = [100, 300];
const MAX_ANSWER_BYTES = 1024 * 1024;
const SESSION_HEADER = 'vmware-api-session-id';

/**
 * A vAPI client for one appliance: its own connections and TLS trust (a lane for runs and logins, one for reads),
 * one shared session, one replay after a 401 (the appliance refused the request unexecuted) and no other replay of
 * a run. Only this folder talks HTTP to appliances; failures leave it as GatewayErrors.
 */
export class VapiClient {
  readonly id: string;
  readonly health = new ApplianceHealth();
  private readonly lanes: Record<LaneName, ApplianceLane>;
  /**
   * One keep-alive pool for both lanes, with as many connections as their slots together: each undici Pool holds
   * ~18 KB before it opens a connection, which a fleet of thousands of appliances pays once per appliance, not twice.
   * Made on the first request, when undici is loaded (common/load-undici.ts).
   */
  private readonly pool: OnFirstUse<Pool>;
  private readonly http: Axios;
  private readonly session: VapiSession;
  private readonly breaker: ApplianceBreaker;
  private closed = false;
  private inFlight = 0;
  private idle: (() => void) | undefined;

  constructor(
    readonly config: ApplianceConfig,
    private readonly logger: Logger,
    breaker: BreakerConfig,
    limits: LimitsConfig,
    private readonly metrics: GatewayMetrics,
  ) {
    this.id = config.id;
    const url = new URL(config.url);
    const origin = url.origin;
    const reads = limits.upstreamConnections - limits.reservedRunConnections;
    const connector = tlsConnector(config.tls);
    this.pool = new OnFirstUse(async () => {
      const { Pool, buildConnector } = await loadUndici();
      return new Pool(origin, {
        connect: connector(buildConnector),
        // Shorter than any appliance's idle timeout, so we never reuse a socket it is closing (docs/vapi-notes.md).
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 15_000,
        connections: limits.upstreamConnections,
        // No answer of the vAPI is anywhere near this; a broken or hostile appliance must not fill our memory.
        maxResponseSize: MAX_ANSWER_BYTES,
      });
    });
    this.lanes = {
      run: new ApplianceLane('run', config.id, limits.reservedRunConnections, 32),
      read: new ApplianceLane('read', config.id, reads, reads),
    };
    // An Axios instance with exactly the defaults these calls use. axios.create() would start from axios's global
    // defaults (transitional flags, XSRF names, body limits, serializers), which every request would merge in and
    // validate again; none of them applies to an adapter that returns text.
    this.http = new Axios({
      // Appliances behind a path prefix (a reverse proxy) keep it.
      adapter: undiciAdapter(url.pathname.replace(/\/+$/, '')),
      timeout: config.timeoutMs,
      // No maxRedirects, responseType or transformResponse: the undici adapter reads neither of the first two. It
      // never follows a redirect (undici's request does not, without its redirect interceptor), so a session token
      // cannot be sent on to another host; and it always returns the body as text. A bare Axios instance has no
      // response transforms (axios.create() would add its JSON parsing), so the text reaches parseJson as sent: we
      // parse once, ourselves, and an error page from a proxy cannot hide the HTTP status behind a parse error.
      validateStatus: () => true,
      headers: { accept: 'application/json' },
    });
    // Kept in a closure, never on an object that might be logged.
    const basic = `Basic ${Buffer.from(`${config.username}:${config.password}`).toString('base64')}`;
    this.session = new VapiSession({
      login: () => this.login(basic),
      heldBack: (retryAfter, rejection) => {
        if (!rejection) metrics.logins.inc({ appliance: this.id, result: 'held_back' });
        return serviceAccountRejected(this.id, retryAfter, rejection);
      },
      onBackoff: (delayMs) =>
        this.logger.error(
          { appliance: this.id, retryInMs: delayMs },
          "appliance rejected the gateway's service account; logins held back to spare it from SSO lockout",
        ),
    });
    this.breaker = new ApplianceBreaker(config.id, breaker, (state) =>
      metrics.breakerState.set({ appliance: config.id }, state),
    );
  }

  async runSchedule(schedule: string, comment: string | undefined, requestId?: string): Promise<VapiJobStatus> {
    const operation: VapiOperation = {
      appliance: this.id,
      description: `run backup schedule ${schedule}`,
      notFound: 'SCHEDULE_NOT_FOUND',
      startsBackup: true,
    };
    // `...operation` last, here and in every call below: Node 20's V8 gives an object that begins with a spread a
    // hidden class of its own, every time (bench/README.md, "Objects that begin with a spread").
    const job = await this.call({
      operation: 'run',
      method: 'POST',
      path: `/api/appliance/recovery/backup/schedules/${encodeURIComponent(schedule)}?action=run`,
      body: comment === undefined ? undefined : JSON.stringify({ comment }),
      idempotent: false,
      lane: 'run',
      requestId,
      ...operation,
    });
    return requireJobStatus<VapiJobStatus>(job, operation);
  }

  async getJob(jobId: string): Promise<VapiJobStatus> {
    const operation: VapiOperation = {
      appliance: this.id,
      description: `read backup job ${jobId}`,
      notFound: 'JOB_NOT_FOUND',
    };
    const job = await this.call({
      operation: 'get_job',
      method: 'GET',
      path: `/api/appliance/recovery/backup/job/${encodeURIComponent(jobId)}`,
      idempotent: true,
      lane: 'read',
      ...operation,
    });
    return requireJobStatus<VapiJobStatus>(job, operation);
  }

  /** The appliance's schedules (`GET .../backup/schedules`): a map from schedule id to its info. */
  async listSchedules(requestId?: string): Promise<Record<string, Record<string, unknown>>> {
    const operation: VapiOperation = {
      appliance: this.id,
      description: 'list backup schedules',
      notFound: 'APPLIANCE_ERROR',
    };
    const schedules = await this.call({
      operation: 'list_schedules',
      method: 'GET',
      path: '/api/appliance/recovery/backup/schedules',
      idempotent: true,
      lane: 'read',
      requestId,
      ...operation,
    });
    return requireRecord(schedules, operation) as Record<string, Record<string, unknown>>;
  }

  /** The ids of the appliance's backup jobs (`GET .../backup/job`). */
  async listJobs(requestId?: string): Promise<string[]> {
    const operation: VapiOperation = {
      appliance: this.id,
      description: 'list backup jobs',
      notFound: 'APPLIANCE_ERROR',
    };
    const ids = await this.call({
      operation: 'list_jobs',
      method: 'GET',
      path: '/api/appliance/recovery/backup/job',
      idempotent: true,
      lane: 'read',
      requestId,
      ...operation,
    });
    return requireStringList(ids, operation);
  }

  /**
   * A light call (`GET /api/session`) that checks reachability, TLS and our credentials, and records the outcome. It
   * logs in first when there is no session, all within `timeoutMs`: the login is
   * part of the probe, not a wait of the appliance's own timeoutMs. A login still under way when the time is up goes on
   * for whoever else waits on it (it is shared); the probe stops waiting and records that no answer came in time.
   */
  async probe(timeoutMs: number): Promise<void> {
    const operation: VapiOperation = {
      appliance: this.id,
      description: 'check its session',
      notFound: 'APPLIANCE_ERROR',
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, false);
    });
    // Whatever it answered, `call` has recorded it in the health already.
    const answered = this.call({
      operation: 'probe',
      method: 'GET',
      path: '/api/session',
      idempotent: false,
      lane: 'read',
      timeoutMs,
      ...operation,
    }).then(
      () => true,
      () => true,
    );
    try {
      const inTime = await Promise.race([answered, deadline]);
      if (!inTime) this.health.failed(noAnswerWithin(operation, timeoutMs));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Ends our session on the appliance (vCenter caps them) and closes the pools, after the requests
   * already under way have finished (an appliance removed by a reload must not cut them off). Safe to call twice.
   */
  async close(drainMs = 30_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.idle = resolve;
        setTimeout(resolve, drainMs).unref();
      });
    }
    const token = this.session.take();
    if (token !== undefined) {
      try {
        const response = await this.http.delete('/api/session', {
          headers: { [SESSION_HEADER]: token },
          timeout: 5_000,
          dispatcher: await this.dispatcher(),
        });
        this.logger.info({ appliance: this.id, status: response.status }, 'appliance session logged out');
      } catch (error) {
        this.logger.warn(
          { appliance: this.id, cause: (error as { code?: string }).code },
          'appliance session logout failed',
        );
      }
    }
    await this.pool.close((pool) => pool.close()).catch(() => undefined);
  }

  /**
   * The appliance's pool. When it cannot be made (the next call tries again), this call is refused as unavailable,
   * with nothing sent: a run certainly did not start.
   */
  private async dispatcher(): Promise<Pool> {
    try {
      return await this.pool.get();
    } catch (error) {
      throw new GatewayError(
        'SERVICE_UNAVAILABLE',
        `The gateway could not open connections to appliance ${this.id}; nothing was sent to it. Retry shortly.`,
        { appliance: this.id, retryAfter: 5, cause: error },
      );
    }
  }

  private async call(call: Call): Promise<unknown> {
    if (this.closed) {
      throw new GatewayError(
        'SERVICE_UNAVAILABLE',
        `Appliance ${this.id} is being removed or the gateway is shutting down.`,
        { appliance: this.id },
      );
    }
    this.inFlight++;
    try {
      const result = await this.authenticatedCall(call);
      this.health.succeeded();
      return result;
    } catch (error) {
      if (error instanceof GatewayError) this.health.failed(error);
      throw error;
    } finally {
      if (--this.inFlight === 0) this.idle?.();
    }
  }

  private async authenticatedCall(call: Call): Promise<unknown> {
    const token = await this.session.current();
    let response = await this.exchange(call, token);
    if (response.status === 401) {
      // The session expired or was evicted: the appliance refused the request without running it,
      // so this is the one case where a run may be sent again. Once.
      this.session.invalidate(token);
      const fresh = await this.session.current();
      response = await this.exchange(call, fresh);
      if (response.status === 401) {
        this.session.invalidate(fresh);
        throw sessionRefused(this.id);
      }
    }
    const body = parseJson(response.data);
    if (response.status >= 200 && response.status < 300) {
      if (body === MALFORMED) throw malformedAnswer(call);
      return body;
    }
    // A malformed body is no typed vAPI error (the map reads only JSON objects): the answer of a proxy, maybe.
    throw vapiErrorToGatewayError(response.status, body, call);
  }

  /** One request on the call's lane, through the breaker; reads are retried after a network failure. */
  private async exchange(call: Call, token: string): Promise<AxiosResponse<string>> {
    const headers: Record<string, string> = { [SESSION_HEADER]: token };
    if (call.requestId !== undefined) headers['x-request-id'] = call.requestId;
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    const timeout = call.timeoutMs ?? this.config.timeoutMs;
    const lane = this.lanes[call.lane];
    // Only what this call needs; everything else is the instance's defaults, set once.
    const request = {
      method: call.method,
      url: call.path,
      headers,
      data: call.body,
      dispatcher: await this.dispatcher(),
      timeout,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        return await lane.run(() =>
          this.breaker.execute(() => this.timed(call.operation, this.http.request<string>(request))),
        );
      } catch (error) {
        if (error instanceof GatewayError) throw error; // circuit open or lane full: nothing was sent
        const retry = call.idempotent && isBrokenConnection(error) && attempt < READ_RETRY_DELAYS_MS.length;
        if (!retry) throw transportError(error, call, timeout);
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_DELAYS_MS[attempt]));
      }
    }
  }

  /** An exchange's duration and outcome for metrics: the status class, or what kept it from being answered. */
  private async timed<T extends AxiosResponse>(operation: string, exchange: Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const response = await exchange;
      this.recordExchange(operation, `${Math.floor(response.status / 100)}xx`, started);
      return response;
    } catch (error) {
      this.recordExchange(operation, isTimeout(error) ? 'timeout' : 'transport_error', started);
      throw error;
    }
  }

  private recordExchange(operation: string, outcome: string, started: number): void {
    this.metrics.upstreamExchange(this.id, operation, outcome, (performance.now() - started) / 1000);
  }

  private async login(basic: string): Promise<string> {
    const operation: VapiOperation = { appliance: this.id, description: 'log in', notFound: 'APPLIANCE_ERROR' };
    const lane = this.lanes.run;
    const dispatcher = await this.dispatcher();
    let response: AxiosResponse<string>;
    try {
      response = await lane.run(() =>
        this.breaker.execute(() =>
          this.timed(
            'login',
            this.http.post<string>('/api/session', undefined, {
              headers: { authorization: basic },
              dispatcher,
            }),
          ),
        ),
      );
    } catch (error) {
      this.metrics.logins.inc({ appliance: this.id, result: 'failed' });
      if (error instanceof GatewayError) throw error;
      throw transportError(error, operation, this.config.timeoutMs);
    }
    const body = parseJson(response.data);
    if (response.status === 201 || response.status === 200) {
      if (typeof body !== 'string' || body.length === 0) throw malformedAnswer(operation);
      this.logger.info({ appliance: this.id }, 'appliance session created');
      this.metrics.logins.inc({ appliance: this.id, result: 'ok' });
      return body;
    }
    this.metrics.logins.inc({ appliance: this.id, result: response.status === 401 ? 'rejected' : 'failed' });
    const error = vapiErrorToGatewayError(response.status, body, operation);
    // A 401 to a login says the credentials are wrong, whatever error type came with it (the table maps a 401 by its
    // type first); the session reports it once per backoff period.
    if (response.status === 401) throw new GatewayError('APPLIANCE_AUTH_FAILED', error.detail, error.details);
    throw error;
  }
}

const MALFORMED = Symbol('malformed');

/** Deeper answers are malformed: mapping them (and serialising them back to callers) would recurse that deep. */
const MAX_ANSWER_DEPTH = 32;

/** The answer's JSON, or MALFORMED (an empty body too: every vAPI answer we read has one). */
function parseJson(text: string): unknown {
  if (exceedsJsonDepth(text, MAX_ANSWER_DEPTH)) return MALFORMED;
  try {
    return JSON.parse(text);
  } catch {
    return MALFORMED;
  }
}
