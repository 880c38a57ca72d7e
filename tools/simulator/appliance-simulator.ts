/**
 * A vCenter Server Appliance as the gateway sees it: the `/api` session and backup endpoints (see
 * docs/vapi-notes.md), with fault injection, counters and a request log for tests and demos.
 *
 * Request pipeline: receive the whole body -> record -> recognise the operation and count it -> 'before' fault ->
 * handle (auth, side effects) -> 'after' fault -> answer. Counting happens before any fault, so a run request that is
 * reset, hung or answered 500 still shows in `counters.runs` (and in `faultedRuns`); whether a job started shows in
 * `jobsStarted`.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { BackupJobs, initialStatus, type SimulatedJob } from './backup-jobs.js';
import { type Fault, SimulatorFaults } from './simulator-faults.js';
import { type Operation, route } from './simulator-routes.js';
import { SimulatorSessions } from './simulator-sessions.js';
import {
  type ApplianceSimulatorOptions,
  defaultSchedules,
  type RecordedRequest,
  type ScheduleInfo,
  type SimulatorCounters,
  zeroCounters,
} from './simulator-types.js';
import { errorTypeForStatus, type VapiErrorSpec, VapiErrors, vapiError } from './vapi-errors.js';

export type { BackupJobStatus, SimulatedJob } from './backup-jobs.js';
export type { Fault, FaultKind, FaultScope } from './simulator-faults.js';
export * from './simulator-types.js';
export type { VapiErrorBody, VapiErrorType, VapiLocalizableMessage } from './vapi-errors.js';
export { errorTypeForStatus, statusForErrorType, VapiErrors } from './vapi-errors.js';

/** An answer before it is written: a JSON value, or no body (204). */
interface Answer {
  status: number;
  json?: unknown;
}

const SESSION_HEADER = 'vmware-api-session-id';
const MAX_BODY_BYTES = 1024 * 1024;

export class ApplianceSimulator {
  readonly faults = new SimulatorFaults();
  /** Mutable: tests may change it between runs. */
  jobOutcome: 'SUCCEEDED' | 'FAILED';

  private readonly options: ApplianceSimulatorOptions;
  private readonly clock: () => number;
  private readonly sessions: SimulatorSessions;
  private readonly jobs: BackupJobs;
  private readonly schedules: Record<string, ScheduleInfo>;
  private readonly liveCounters = zeroCounters();
  private readonly log: RecordedRequest[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly delays = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private server: Server | undefined;
  private boundPort: number;
  private inFlightLogins = 0;
  private stopped = false;

  constructor(options: ApplianceSimulatorOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
    this.boundPort = options.port ?? 0;
    this.jobOutcome = options.jobOutcome ?? 'SUCCEEDED';
    this.schedules = structuredClone(options.schedules ?? defaultSchedules());
    this.sessions = new SimulatorSessions(this.clock, () => this.options.sessionIdleMs ?? 30 * 60_000);
    this.jobs = new BackupJobs(this.clock);
  }

  /** Resolves when listening. Calling it again after stop() restarts on the same port (sessions were evicted). */
  async start(): Promise<void> {
    if (this.server !== undefined) throw new Error('simulator already started');
    const { tls } = this.options;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      // A bug here must answer 500 (as an appliance would), not crash the test process with an unhandled rejection.
      this.handle(req, res).catch(() => {
        if (res.headersSent) res.destroy();
        else sendError(res, vapiError('ERROR', 'com.vmware.vapi.std.errors.error', 'Simulator internal error.'));
      });
    };
    const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler) : createHttpServer(handler);
    server.keepAliveTimeout = this.options.keepAliveTimeoutMs ?? 5000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // A client refusing our certificate (the gateway's wrong-cert tests) is expected, not a simulator failure.
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.server = server;
    this.stopped = false;
  }

  /** Closes the server, destroys every open socket (hung requests included) and evicts every session. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.stopped = true;
    for (const delay of this.delays) {
      clearTimeout(delay.timer);
      delay.resolve();
    }
    this.delays.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
    this.sessions.clear(); // an appliance restart evicts every session
  }

  /** Known once started; still given after stop(), pointing at a closed port (for "appliance down" tests). */
  get url(): string {
    if (this.boundPort === 0) throw new Error('simulator not started');
    const host = this.options.host ?? '127.0.0.1';
    return `${this.options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${this.boundPort}`;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The live counters object (same object across resets). */
  get counters(): Readonly<SimulatorCounters> {
    return this.liveCounters;
  }

  resetCounters(): void {
    Object.assign(this.liveCounters, zeroCounters(), { maxConcurrentLogins: this.inFlightLogins });
  }

  /** Every request received, oldest first (see RecordedRequest). */
  get requests(): readonly RecordedRequest[] {
    return this.log;
  }

  clearRequests(): void {
    this.log.length = 0;
  }

  openSessions(): number {
    return this.sessions.count();
  }

  /** TCP connections clients hold open to the simulator now (a client that closed its pool holds none). */
  openConnections(): number {
    return this.sockets.size;
  }

  /** Every token becomes invalid: the next call with one answers 401 (as after an appliance restart). */
  expireAllSessions(): void {
    this.sessions.clear();
  }

  /** Ends one session as if evicted; true if it existed. */
  expireSession(token: string): boolean {
    return this.sessions.delete(token);
  }

  /** Forces every running job to end now; returns how many did. */
  finishRunningJobs(state: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED'): number {
    return this.jobs.finishRunning(state);
  }

  /** Jobs started so far, oldest first, with what the run call asked (schedule, comment). */
  startedJobs(): SimulatedJob[] {
    return this.jobs.all().map((job) => ({ ...job }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.liveCounters.requests += 1;
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      req.socket.destroy();
      return;
    }
    this.record(method, target, req, body);

    const operation = route(method, target);
    this.countOperation(operation, res);
    const faultTarget = { method, rawPath: target, isLogin: operation.op === 'login' };

    const before = this.faults.take(faultTarget, 'before');
    if (before !== undefined && (await this.applyFault(before, operation, req, res))) return;
    if (this.stopped) return;

    const answer = this.dispatch(operation, req, body);

    const after = this.faults.take(faultTarget, 'after');
    if (after !== undefined && (await this.applyFault(after, operation, req, res))) return;
    if (this.stopped) return;
    send(res, answer);
  }

  private record(method: string, path: string, req: IncomingMessage, body: string): void {
    let json: unknown;
    try {
      json = body === '' ? undefined : JSON.parse(body);
    } catch {
      json = undefined;
    }
    this.log.push({ method, path, headers: { ...req.headers }, body, json, receivedAt: this.clock() });
    const max = this.options.maxRecordedRequests ?? 10_000;
    if (this.log.length > max) this.log.splice(0, this.log.length - max);
  }

  private countOperation(operation: Operation, res: ServerResponse): void {
    const c = this.liveCounters;
    switch (operation.op) {
      case 'login':
        c.loginAttempts += 1;
        this.inFlightLogins += 1;
        c.maxConcurrentLogins = Math.max(c.maxConcurrentLogins, this.inFlightLogins);
        // 'close' fires once the answer is sent or the socket is gone (reset, hang ended by stop())
        res.once('close', () => {
          this.inFlightLogins -= 1;
        });
        return;
      case 'sessionGet':
        c.sessionGets += 1;
        return;
      case 'run':
        c.runs += 1;
        return;
      case 'jobGet':
        c.jobGets += 1;
        return;
      case 'jobList':
        c.jobLists += 1;
        return;
      case 'scheduleList':
        c.scheduleLists += 1;
        return;
      case 'scheduleGet':
        c.scheduleGets += 1;
        return;
      default:
        return;
    }
  }

  /** Applies a fault; true when it took over the answer (everything but latency). */
  private async applyFault(
    fault: Fault,
    operation: Operation,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<boolean> {
    this.liveCounters.faultsApplied += 1;
    if (fault.kind === 'latency') {
      await this.delay(fault.ms);
      return false;
    }
    if (operation.op === 'run') this.liveCounters.faultedRuns += 1;
    // A fault in phase 'after' on a login comes after the session was created and counted: not a failed login.
    if (operation.op === 'login' && (fault.phase ?? 'before') === 'before') this.liveCounters.failedLogins += 1;
    switch (fault.kind) {
      case 'hang':
        return true; // the socket stays open until the client gives up or stop() destroys it
      case 'reset':
        this.resetSocket(req.socket);
        return true;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 7 });
        res.end('{"id": ');
        return true;
      case 'status':
        sendStatusFault(res, fault);
        return true;
      case 'sessionLimit':
        sendError(res, VapiErrors.sessionLimit());
        return true;
      case 'rejectCredentials':
        // The account is refused: a login fails, and a token presented is dead (the client must log in again).
        if (operation.op !== 'login') {
          const token = headerValue(req, SESSION_HEADER);
          if (token !== undefined) this.sessions.delete(token);
          this.liveCounters.rejectedSessions += 1;
        }
        sendError(res, VapiErrors.unauthenticated());
        return true;
    }
    return fault satisfies never;
  }

  private dispatch(operation: Operation, req: IncomingMessage, body: string): Answer {
    if (operation.op === 'notFound') return errorAnswer(VapiErrors.httpNotFound());
    if (operation.op === 'login') return this.login(req);
    const session = this.sessions.use(headerValue(req, SESSION_HEADER));
    if (session === undefined) {
      this.liveCounters.rejectedSessions += 1;
      return errorAnswer(VapiErrors.unauthenticated());
    }
    switch (operation.op) {
      case 'sessionGet':
        return {
          status: 200,
          json: {
            user: session.user,
            created_time: new Date(session.createdAt).toISOString(),
            last_accessed_time: new Date(session.lastAccessedAt).toISOString(),
          },
        };
      case 'logout':
        this.sessions.delete(headerValue(req, SESSION_HEADER) ?? '');
        this.liveCounters.logouts += 1;
        return { status: 204 };
      case 'scheduleList':
        return { status: 200, json: this.schedules };
      case 'scheduleGet': {
        const info = own(this.schedules, operation.schedule);
        return info ? { status: 200, json: info } : errorAnswer(VapiErrors.scheduleNotFound(operation.schedule));
      }
      case 'run':
        return this.run(operation.schedule, body);
      case 'jobList':
        return { status: 200, json: this.jobs.all().map((job) => job.id) };
      case 'jobGet': {
        const job = this.jobs.get(operation.id);
        return job ? { status: 200, json: this.jobs.status(job) } : errorAnswer(VapiErrors.jobNotFound(operation.id));
      }
    }
    return operation satisfies never;
  }

  private login(req: IncomingMessage): Answer {
    const c = this.liveCounters;
    const credentials = basicCredentials(req);
    // Plain comparison: a test double, and the password never appears in any answer.
    if (
      credentials === undefined ||
      credentials.user !== this.options.username ||
      credentials.password !== this.options.password
    ) {
      c.failedLogins += 1;
      return errorAnswer(VapiErrors.unauthenticated());
    }
    if (this.sessions.count() >= (this.options.maxSessions ?? Number.POSITIVE_INFINITY)) {
      c.failedLogins += 1;
      return errorAnswer(VapiErrors.sessionLimit());
    }
    c.logins += 1;
    return { status: 201, json: this.sessions.create(credentials.user) };
  }

  private run(schedule: string, body: string): Answer {
    let comment = '';
    if (body.trim() !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return errorAnswer(VapiErrors.invalidBody('not JSON'));
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return errorAnswer(VapiErrors.invalidBody('expected an object'));
      }
      const value = (parsed as { comment?: unknown }).comment;
      if (value !== undefined && value !== null && typeof value !== 'string') {
        return errorAnswer(VapiErrors.invalidBody('comment must be a string'));
      }
      comment = value ?? '';
    }
    if (own(this.schedules, schedule) === undefined) return errorAnswer(VapiErrors.scheduleNotFound(schedule));
    if (this.jobs.anyRunning()) return errorAnswer(VapiErrors.backupInProgress());
    const job = this.jobs.start(schedule, comment, this.options.jobDurationMs ?? 3000, this.jobOutcome);
    this.liveCounters.jobsStarted += 1;
    return { status: 200, json: initialStatus(job) };
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.delays.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.delays.add(entry);
    });
  }

  /** A TCP RST (ECONNRESET at the client). Behind TLS, reset the TCP socket under the TLS one. */
  private resetSocket(socket: Socket): void {
    const raw = [...this.sockets].find(
      (s) => s.remotePort === socket.remotePort && s.remoteAddress === socket.remoteAddress,
    );
    try {
      (raw ?? socket).resetAndDestroy();
    } catch {
      socket.destroy();
    }
  }
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.destroyed || res.headersSent) return;
  if (answer.json === undefined) {
    res.writeHead(answer.status);
    res.end();
    return;
  }
  const text = JSON.stringify(answer.json);
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function errorAnswer(error: VapiErrorSpec): Answer {
  return { status: error.status, json: error.body };
}

function sendError(res: ServerResponse, error: VapiErrorSpec): void {
  send(res, errorAnswer(error));
}

function sendStatusFault(res: ServerResponse, fault: Extract<Fault, { kind: 'status' }>): void {
  if (fault.rawBody !== undefined) {
    res.writeHead(fault.status, {
      'content-type': fault.contentType ?? 'application/json',
      'content-length': Buffer.byteLength(fault.rawBody),
      ...(fault.location !== undefined && { location: fault.location }),
    });
    res.end(fault.rawBody);
    return;
  }
  const errorType = fault.errorType === undefined ? errorTypeForStatus(fault.status) : fault.errorType;
  const typeName = errorType ?? 'ERROR';
  const message = {
    id: fault.messageId ?? `com.vmware.vapi.std.errors.${typeName.toLowerCase()}`,
    default_message: fault.message ?? `Simulated ${typeName} (HTTP ${fault.status}).`,
    args: [],
  };
  send(res, {
    status: fault.status,
    json: errorType === null ? { messages: [message] } : { error_type: errorType, messages: [message] },
  });
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const match = /^basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Own properties only: a schedule named `__proto__` or `toString` must not resolve to Object.prototype's. */
function own<T>(map: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
