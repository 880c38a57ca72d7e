import axios, { AxiosInstance, AxiosResponse } from 'axios';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { ApplianceConfig, BreakerConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';
import { VapiOperation, vapiErrorToGatewayError } from '../problems/vapi-error-map.js';
import { ApplianceBreaker } from './appliance-breaker.js';
import { ApplianceHealth } from './appliance-health.js';
import { tlsConnector } from './tls-connector.js';
import { isTimeout, mayHaveStarted, transportError } from './transport-errors.js';
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
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  requestId?: string;
  /** Reads may be retried after a network failure; a run never is (it may have started a backup). */
  idempotent: boolean;
  /** For `detail` when a run's outcome is unknown. */
  startsBackup?: boolean;
  /** Overrides the appliance's timeoutMs (status probes are kept short). */
  timeoutMs?: number;
}

const READ_RETRY_DELAYS_MS = [100, 300];
const SESSION_HEADER = 'vmware-api-session-id';

/**
 * A vAPI client for one appliance: its own keep-alive pool and TLS trust, one shared session,
 * one replay after a 401 (the appliance refused the request unexecuted) and no other replay of a run.
 * Only this folder talks HTTP to appliances; failures leave it as GatewayErrors.
 */
export class VapiClient {
  readonly id: string;
  private readonly pool: Pool;
  private readonly http: AxiosInstance;
  private readonly session: VapiSession;
  private readonly breaker: ApplianceBreaker;
  readonly health = new ApplianceHealth();
  private closed = false;
  private inFlight = 0;
  private idle: (() => void) | undefined;

  constructor(
    readonly config: ApplianceConfig,
    private readonly logger: Logger,
    breaker: BreakerConfig,
  ) {
    this.id = config.id;
    const origin = new URL(config.url).origin;
    this.pool = new Pool(origin, {
      connect: tlsConnector(config.tls),
      // Shorter than any appliance's idle timeout, so we never reuse a socket it is closing (docs/vapi-notes.md).
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 15_000,
      connections: 64,
    });
    this.http = axios.create({
      baseURL: config.url.replace(/\/+$/, ''),
      timeout: config.timeoutMs,
      adapter: undiciAdapter(this.pool),
      maxRedirects: 0,
      responseType: 'text',
      // We parse ourselves: an error page from a proxy must not hide the HTTP status behind a parse error.
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      headers: { accept: 'application/json' },
    });
    // Kept in a closure, never on an object that might be logged.
    const basic = `Basic ${Buffer.from(`${config.username}:${config.password}`).toString('base64')}`;
    this.session = new VapiSession(() => this.login(basic));
    this.breaker = new ApplianceBreaker(config.id, breaker);
  }

  runSchedule(schedule: string, comment: string | undefined, requestId?: string): Promise<VapiJobStatus> {
    return this.call<VapiJobStatus>({
      method: 'POST',
      path: `/api/appliance/recovery/backup/schedules/${encodeURIComponent(schedule)}?action=run`,
      body: comment === undefined ? undefined : { comment },
      requestId,
      idempotent: false,
      startsBackup: true,
      appliance: this.id,
      description: `run backup schedule ${schedule}`,
      notFound: 'SCHEDULE_NOT_FOUND',
    }).then((job) => assertJob(job, this.id, true));
  }

  getJob(jobId: string, requestId?: string): Promise<VapiJobStatus> {
    return this.call<VapiJobStatus>({
      method: 'GET',
      path: `/api/appliance/recovery/backup/job/${encodeURIComponent(jobId)}`,
      requestId,
      idempotent: true,
      appliance: this.id,
      description: `read backup job ${jobId}`,
      notFound: 'JOB_NOT_FOUND',
    }).then((job) => assertJob(job, this.id));
  }

  /** The appliance's schedules (`GET .../backup/schedules`): a map from schedule id to its info. */
  listSchedules(requestId?: string): Promise<Record<string, Record<string, unknown>>> {
    return this.call<Record<string, Record<string, unknown>>>({
      method: 'GET',
      path: '/api/appliance/recovery/backup/schedules',
      requestId,
      idempotent: true,
      appliance: this.id,
      description: 'list backup schedules',
      notFound: 'APPLIANCE_ERROR',
    }).then((schedules) => assertRecord(schedules, this.id, 'a map of schedules'));
  }

  /** The ids of the appliance's backup jobs (`GET .../backup/job`). */
  listJobs(requestId?: string): Promise<string[]> {
    return this.call<unknown>({
      method: 'GET',
      path: '/api/appliance/recovery/backup/job',
      requestId,
      idempotent: true,
      appliance: this.id,
      description: 'list backup jobs',
      notFound: 'APPLIANCE_ERROR',
    }).then((ids) => {
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
        throw new GatewayError('APPLIANCE_ERROR', `Appliance ${this.id} answered without a list of job ids.`, {
          appliance: this.id,
        });
      }
      return ids as string[];
    });
  }

  /** A light call (`GET /api/session`) that checks reachability, TLS and our credentials; records the outcome. */
  async probe(timeoutMs: number): Promise<void> {
    await this.call({
      method: 'GET',
      path: '/api/session',
      idempotent: false,
      timeoutMs,
      appliance: this.id,
      description: 'check its session',
      notFound: 'APPLIANCE_ERROR',
    }).catch(() => undefined);
  }

  /** True while we hold a session on the appliance. */
  get hasSession(): boolean {
    return this.session.active;
  }

  /**
   * Ends our session on the appliance (vCenter caps them) and closes the pool, after the requests
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
        });
        this.logger.info({ appliance: this.id, status: response.status }, 'appliance session logged out');
      } catch (error) {
        this.logger.warn(
          { appliance: this.id, cause: (error as { code?: string }).code },
          'appliance session logout failed',
        );
      }
    }
    await this.pool.close().catch(() => undefined);
  }

  private async call<T>(call: Call): Promise<T> {
    if (this.closed) {
      throw new GatewayError(
        'SERVICE_UNAVAILABLE',
        `Appliance ${this.id} is being removed or the gateway is shutting down.`,
        {
          appliance: this.id,
        },
      );
    }
    this.inFlight++;
    try {
      const result = await this.authenticatedCall<T>(call);
      this.health.succeeded();
      return result;
    } catch (error) {
      if (error instanceof GatewayError) this.health.failed(error);
      throw error;
    } finally {
      if (--this.inFlight === 0) this.idle?.();
    }
  }

  private async authenticatedCall<T>(call: Call): Promise<T> {
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
        throw new GatewayError(
          'APPLIANCE_AUTH_FAILED',
          `Appliance ${this.id} refused the gateway's session right after a fresh login; its service account may have been disabled.`,
          { appliance: this.id },
        );
      }
    }
    const body = parseJson(response.data);
    if (response.status >= 200 && response.status < 300) {
      if (body === MALFORMED) throw this.malformed(call);
      return body as T;
    }
    throw vapiErrorToGatewayError(response.status, body === MALFORMED ? undefined : body, call);
  }

  private async exchange(call: Call, token: string): Promise<AxiosResponse<string>> {
    const headers: Record<string, string> = { [SESSION_HEADER]: token };
    if (call.requestId) headers['x-request-id'] = call.requestId;
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    const data = call.body === undefined ? undefined : JSON.stringify(call.body);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.breaker.execute(() =>
          this.http.request<string>({
            method: call.method,
            url: call.path,
            headers,
            data,
            timeout: call.timeoutMs ?? this.config.timeoutMs,
          }),
        );
      } catch (error) {
        if (error instanceof GatewayError) throw error; // the circuit is open: nothing was sent
        const retry = call.idempotent && !isTimeout(error) && attempt < READ_RETRY_DELAYS_MS.length;
        if (!retry) {
          throw transportError(error, {
            appliance: this.id,
            timeoutMs: call.timeoutMs ?? this.config.timeoutMs,
            description: call.description,
            mayHaveStartedBackup: call.startsBackup === true,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_DELAYS_MS[attempt]));
      }
    }
  }

  private async login(basic: string): Promise<string> {
    const operation: VapiOperation = { appliance: this.id, description: 'log in', notFound: 'APPLIANCE_ERROR' };
    let response: AxiosResponse<string>;
    try {
      response = await this.breaker.execute(() =>
        this.http.post<string>('/api/session', undefined, { headers: { authorization: basic } }),
      );
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw transportError(error, { ...operation, timeoutMs: this.config.timeoutMs, mayHaveStartedBackup: false });
    }
    const body = parseJson(response.data);
    if (response.status === 201 || response.status === 200) {
      if (typeof body !== 'string' || body.length === 0) throw this.malformed({ ...operation, description: 'log in' });
      this.logger.info({ appliance: this.id }, 'appliance session created');
      return body;
    }
    const error = vapiErrorToGatewayError(response.status, body === MALFORMED ? undefined : body, operation);
    if (response.status === 401) {
      throw new GatewayError(
        'APPLIANCE_AUTH_FAILED',
        `Appliance ${this.id} rejected the gateway's service account; check its username and password in the gateway configuration.`,
        error.details,
      );
    }
    throw error;
  }

  private malformed(operation: VapiOperation & { startsBackup?: boolean }): GatewayError {
    const { hint, outcomeUnknown } = mayHaveStarted(this.id, operation.startsBackup === true);
    return new GatewayError(
      'APPLIANCE_ERROR',
      `Appliance ${this.id} sent a malformed answer when asked to ${operation.description}.${hint}`,
      { appliance: this.id, outcomeUnknown },
    );
  }
}

const MALFORMED = Symbol('malformed');

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return MALFORMED;
  }
}

function assertRecord<T>(value: T, appliance: string, what: string): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GatewayError('APPLIANCE_ERROR', `Appliance ${appliance} answered without ${what}.`, { appliance });
  }
  return value;
}

function assertJob(job: unknown, appliance: string, afterRun = false): VapiJobStatus {
  const record = job as Partial<VapiJobStatus> | null;
  if (
    record === null ||
    typeof record !== 'object' ||
    typeof record.id !== 'string' ||
    typeof record.state !== 'string'
  ) {
    const { hint, outcomeUnknown } = mayHaveStarted(appliance, afterRun);
    throw new GatewayError('APPLIANCE_ERROR', `Appliance ${appliance} answered without a backup job status.${hint}`, {
      appliance,
      outcomeUnknown,
    });
  }
  return record as VapiJobStatus;
}
