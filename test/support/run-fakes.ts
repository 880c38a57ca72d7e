/**
 * Hand-written fakes for unit tests of the run use case (RunsService) and of the Idempotency-Key around it
 * (IdempotentRuns, KeyedRuns): no Nest application, no network, no database. Each fake records what it
 * was asked, so a test can say what was sent to an appliance, written to the audit trail, or spent of a budget.
 */
import pino, { type Logger } from 'pino';
import type { ApplianceRegistry } from '../../src/appliances/appliance-registry.service.js';
import type { VapiJobStatus } from '../../src/appliances/vapi-client.js';
import type {
  AuditCompletedInput,
  AuditDeniedInput,
  AuditRateLimitedInput,
  AuditReplayedInput,
  AuditRequestedInput,
} from '../../src/audit/audit-entry.js';
import { AuditRecorder } from '../../src/audit/audit-recorder.js';
import type { ClaimRequest, IdempotencyClaim, KeySettlement } from '../../src/audit/idempotency-keys.js';
import { MemoryIdempotencyKeys } from '../../src/audit/store/memory-idempotency-keys.js';
import { apiKeyCaller } from '../../src/auth/caller-id.js';
import type { Principal } from '../../src/auth/principal.js';
import type { GatewayConfig } from '../../src/config/gateway-config.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { CallOrigin } from '../../src/context/call-origin.js';
import type { RunBudget } from '../../src/limits/run-budget.service.js';
import { GatewayError } from '../../src/problems/gateway-error.js';

/** Four appliances, two fleet members at a time, at most three per fleet request; no metrics timers. */
export function runConfig(): GatewayConfig {
  const appliance = (id: string, tags: string[]) => ({
    id,
    url: `https://${id}.example`,
    username: 'u',
    password: 'p',
    tags,
  });
  return parseConfig(
    {
      auth: { apiKeys: [{ id: 'ops', sha256: 'a'.repeat(64), scopes: ['backups:run'] }] },
      appliances: [
        appliance('vc-a', ['prod']),
        appliance('vc-a2', ['prod']),
        appliance('vc-b', ['prod']),
        appliance('vc-c', ['lab']),
      ],
      fleet: { concurrency: 2, maxAppliances: 3 },
      metrics: { enabled: false },
    },
    {},
  );
}

export function principal(...scopes: string[]): Principal {
  return { caller: apiKeyCaller('ops'), name: 'ops', clientId: 'ops', authMethod: 'apiKey', scopes: new Set(scopes) };
}

/** A logger that writes nowhere. */
export function silentLogger(): Logger {
  return pino({ enabled: false });
}

/** A logger whose warnings (and worse) are kept as parsed lines, to see what an operator would read. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** The origin the HTTP layer would give a request with this id (originOf): one caller's address and user agent. */
export function originFor(requestId: string): CallOrigin {
  return { requestId, ip: '192.0.2.7', userAgent: 'unit-test' };
}

interface AuditInputs {
  requested: AuditRequestedInput;
  completed: AuditCompletedInput;
  denied: AuditDeniedInput;
  replayed: AuditReplayedInput;
  rateLimited: AuditRateLimitedInput;
}

export type AuditCall = { [K in keyof AuditInputs]: { kind: K; input: AuditInputs[K] } }[keyof AuditInputs];

/**
 * Records every entry it is given, in order, and answers with ids `e1`, `e2`... `failRequested` makes `requested`
 * fail as a store that cannot commit does. `settleInto`: like the real recorder, a completion's Idempotency-Key
 * settlement is written with the entry (to that key store).
 */
export class RecordingAudit extends AuditRecorder {
  readonly calls: AuditCall[] = [];
  failRequested: Error | undefined;
  settleInto: MemoryIdempotencyKeys | undefined;
  private next = 0;

  static unavailable(): GatewayError {
    return new GatewayError('AUDIT_UNAVAILABLE', 'The audit store did not commit.', { retryAfter: 5 });
  }

  of<K extends keyof AuditInputs>(kind: K): AuditInputs[K][] {
    return this.calls.filter((call) => call.kind === kind).map((call) => call.input as AuditInputs[K]);
  }

  kinds(): string[] {
    return this.calls.map((call) => call.kind);
  }

  async requested(input: AuditRequestedInput): Promise<string> {
    this.calls.push({ kind: 'requested', input });
    if (this.failRequested) throw this.failRequested;
    return this.id();
  }

  async completed(input: AuditCompletedInput): Promise<string> {
    this.calls.push({ kind: 'completed', input });
    const entryId = this.id();
    if (input.settles && this.settleInto) await this.settleInto.complete({ ...input.settles, entryId });
    return entryId;
  }

  async denied(input: AuditDeniedInput): Promise<string> {
    this.calls.push({ kind: 'denied', input });
    return this.id();
  }

  async replayed(input: AuditReplayedInput): Promise<string> {
    this.calls.push({ kind: 'replayed', input });
    return this.id();
  }

  async rateLimited(input: AuditRateLimitedInput): Promise<string> {
    this.calls.push({ kind: 'rateLimited', input });
    return this.id();
  }

  async healthy(): Promise<boolean> {
    return true;
  }

  private id(): string {
    this.next += 1;
    return `e${this.next}`;
  }
}

export interface ScheduleCall {
  appliance: string;
  schedule: string;
  comment: string | undefined;
  /** The request id the appliance client was given to send along. */
  requestId: string | undefined;
}

export type RunBehaviour = (schedule: string, comment: string | undefined) => Promise<VapiJobStatus>;

export function jobStatus(id: string, extra: Partial<VapiJobStatus> = {}): VapiJobStatus {
  return { id, state: 'INPROGRESS', progress: 0, start_time: '2025-01-01T00:00:00Z', ...extra };
}

/**
 * The appliance registry as the run path uses it (resolve, has, withAnyTag, client), over the configured appliances.
 * Each appliance's runSchedule does what `behaviour` says (by default: starts job `job-{id}`); every call is recorded,
 * as is every getJob (the job tracker's upstream read).
 */
export class FakeRegistry {
  readonly runs: ScheduleCall[] = [];
  readonly reads: { appliance: string; jobId: string }[] = [];
  readonly behaviour = new Map<string, RunBehaviour>();

  constructor(private readonly config: GatewayConfig) {}

  asRegistry(): ApplianceRegistry {
    return this as unknown as ApplianceRegistry;
  }

  resolve(id?: string): string {
    return id ?? this.config.appliances[0].id;
  }

  has(id: string): boolean {
    return this.config.appliances.some((appliance) => appliance.id === id);
  }

  get size(): number {
    return this.config.appliances.length;
  }

  /** The clients' configs, as the registry holds them (IdempotentRuns reads their timeouts). */
  all(): { config: GatewayConfig['appliances'][number] }[] {
    return this.config.appliances.map((config) => ({ config }));
  }

  withAnyTag(tags: readonly string[]): string[] {
    return this.config.appliances
      .filter((appliance) => appliance.tags.some((tag) => tags.includes(tag)))
      .map((appliance) => appliance.id);
  }

  client(id: string) {
    if (!this.has(id)) {
      throw new GatewayError('APPLIANCE_NOT_FOUND', `No appliance with id ${id} is configured.`, { appliance: id });
    }
    return {
      runSchedule: (schedule: string, comment: string | undefined, requestId?: string): Promise<VapiJobStatus> => {
        this.runs.push({ appliance: id, schedule, comment, requestId });
        const behaviour = this.behaviour.get(id);
        return behaviour ? behaviour(schedule, comment) : Promise.resolve(jobStatus(`job-${id}`));
      },
      getJob: async (jobId: string): Promise<VapiJobStatus> => {
        this.reads.push({ appliance: id, jobId });
        return jobStatus(jobId, { state: 'SUCCEEDED', progress: 100 });
      },
    };
  }
}

/** The run budget's spend, recorded; `refuse` makes it throw as a spent budget does. */
export class FakeBudget {
  readonly spends: { caller: string; runs: number }[] = [];
  refuse: GatewayError | undefined;

  asBudget(): RunBudget {
    return this as unknown as RunBudget;
  }

  async spend(who: Principal, _origin: CallOrigin, runs: number): Promise<void> {
    this.spends.push({ caller: who.caller, runs });
    if (this.refuse) throw this.refuse;
  }
}

/** The in-memory key store, with its calls recorded; each operation can be told to fail as a database does. */
export class RecordingKeys extends MemoryIdempotencyKeys {
  readonly claims: ClaimRequest[] = [];
  readonly completions: KeySettlement[] = [];
  readonly releases: { caller: string; key: string; owner: string }[] = [];
  readonly renewals: { caller: string; key: string; owner: string; leaseMs: number }[] = [];
  failComplete: Error | undefined;
  failRelease: Error | undefined;

  override async claim(claim: ClaimRequest): Promise<IdempotencyClaim> {
    this.claims.push(claim);
    return super.claim(claim);
  }

  override async complete(settlement: KeySettlement): Promise<void> {
    this.completions.push(settlement);
    if (this.failComplete) throw this.failComplete;
    return super.complete(settlement);
  }

  override async release(caller: string, key: string, owner: string): Promise<void> {
    this.releases.push({ caller, key, owner });
    if (this.failRelease) throw this.failRelease;
    return super.release(caller, key, owner);
  }

  override async renew(caller: string, key: string, owner: string, leaseMs: number): Promise<boolean> {
    this.renewals.push({ caller, key, owner, leaseMs });
    return super.renew(caller, key, owner, leaseMs);
  }
}

/** A promise resolved from outside: lets a test hold an appliance's answer back and decide when it comes. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Lets every pending promise callback and I/O callback run (the fakes answer within one turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
