import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ApplianceRegistry } from '../../appliances/appliance-registry.service.js';
import { canonicalJson } from '../../audit/audit-chain.js';
import { AuditRecorder } from '../../audit/audit-recorder.js';
import { IdempotencyKeys, type StoredMember } from '../../audit/idempotency-keys.js';
import { requestedRunEntry } from '../../audit/run-entries.js';
import type { Principal } from '../../auth/principal.js';
import { GatewayConfig } from '../../config/gateway-config.js';
import type { CallOrigin } from '../../context/call-origin.js';
import { IDEMPOTENCY_KEY_PATTERN } from '../../http/api-headers.js';
import { PINO_LOGGER } from '../../logging/logger.js';
import { GatewayMetrics } from '../../metrics/gateway-metrics.js';
import { GatewayError } from '../../problems/gateway-error.js';
import { type RunAnswer, storedResponseOf } from './run-answers.js';

const HOUR_MS = 60 * 60 * 1000;
/** Added to the time a run may take: the lease outlives a slow answer, never a dead request by much. */
const LEASE_MARGIN_MS = 10_000;
const MAX_LEASE_MS = 10 * 60_000;
/** This process, in every claim it takes: an owner is a process and a request. */
const PROCESS = randomUUID();
const IDEMPOTENCY_CLAIM_LOST =
  'the Idempotency-Key is no longer held by this request (its lease lapsed and a retry took it over, or it expired)';

export interface IdempotentRequest {
  /** The `Idempotency-Key` header, if the caller sent one. */
  key: string | undefined;
  method: string;
  /** Path and query as sent: the short form's `?appliance=` is part of what the request asks. */
  url: string;
  body: unknown;
  /** What else the request asks, when anything (`respond-async`): part of its fingerprint. */
  variant?: string;
  /** What the audit trail says about this request if it is refused or replayed here. */
  run: { appliance: string; schedule: string; comment?: string };
  /** The request's id and its caller's address, for the audit trail and the logs. */
  origin: CallOrigin;
  /** Appliances the run may call (1 for a single run): the lease covers their answers. */
  members: number;
}

/** A claimed key, held while the run goes on: its answer settles through the audit entry that records it. */
export interface KeyHold {
  caller: string;
  key: string;
  owner: string;
  /** The request that holds the claim: what its log lines name. */
  requestId: string;
  /** The claim's lease: renewed while the run goes on (keepAlive), so that only a dead request's claim lapses. */
  leaseMs: number;
  /** A fleet's members whose answer was final before (a retry replays them and runs only the others). */
  members: Record<string, StoredMember>;
}

export type KeyBegin = { hold: KeyHold | undefined } | { replay: RunAnswer };

/**
 * Runs with an Idempotency-Key (IETF draft). The first request with a key claims it, with an owner and a lease (a
 * login and the run under the appliances' timeout, plus 10 s, at most ten minutes), and runs; its final answer is written with the audit entry that
 * records it (so it follows that entry through the spool when the store is down, and a retry is replayed the job). A
 * retry with the same key and request (method, path and query, body) within `idempotency.ttlHours` gets that answer
 * again, with `Idempotent-Replayed: true`, and nothing reaches an appliance; a claim whose owner died is taken over
 * once its lease ends, and the retry learns the truth from the appliance. The same key for another request is 422
 * IDEMPOTENCY_KEY_REUSED; a retry while the first is live is 409 IDEMPOTENCY_REQUEST_IN_PROGRESS. A fleet's members
 * are settled one by one: a retry replays the final ones and runs only the others. Keys belong to a caller (its
 * CallerId). Replays and refusals are audited like any other attempt.
 */
@Injectable()
export class IdempotentRuns {
  constructor(
    private readonly keys: IdempotencyKeys,
    private readonly registry: ApplianceRegistry,
    private readonly audit: AuditRecorder,
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  /** Before the run (after its admission): no key, a hold to run under, or the stored answer to replay. */
  async begin(principal: Principal, request: IdempotentRequest): Promise<KeyBegin> {
    const { key } = request;
    if (key === undefined) return { hold: undefined };
    if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new GatewayError('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 255 printable ASCII characters.', {
        errors: [{ field: 'Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' }],
      });
    }
    const started = performance.now();
    const caller = principal.caller;
    const { requestId } = request.origin;
    const owner = `${PROCESS}:${requestId}`;
    const leaseMs = this.leaseMs(request.members);
    const claim = await this.keys.claim({
      caller,
      key,
      fingerprint: fingerprint(request),
      owner,
      ttlMs: this.config.idempotency.ttlHours * HOUR_MS,
      leaseMs,
    });
    if (claim.state === 'claimed') return { hold: { caller, key, owner, requestId, leaseMs, members: claim.members } };
    if (claim.state === 'done') {
      this.metrics.idempotentReplays.inc();
      const original = JSON.parse(claim.response.body) as unknown;
      await this.audit.replayed({
        ...this.entry(principal, request),
        httpStatus: claim.response.status,
        jobId: jobIdOf(original),
        durationMs: Math.round(performance.now() - started),
        replayOf: claim.entryId,
      });
      const { status, headers } = claim.response;
      return { replay: { status, headers, body: original, entryId: claim.entryId, final: true } };
    }
    const error =
      claim.state === 'mismatch'
        ? new GatewayError(
            'IDEMPOTENCY_KEY_REUSED',
            'This Idempotency-Key was used for a different request; use a new key for a new request.',
          )
        : new GatewayError(
            'IDEMPOTENCY_REQUEST_IN_PROGRESS',
            'A request with this Idempotency-Key is still running; retry after it has been answered.',
            { retryAfter: 1 },
          );
    await this.audit.denied({
      ...this.entry(principal, request),
      outcome: 'rejected',
      httpStatus: error.status,
      code: error.code,
      durationMs: Math.round(performance.now() - started),
    });
    throw error;
  }

  /**
   * After the run, whatever its answer: a fleet's final answer is written whole; a key whose answer is not final is
   * released for a retry. Never fails the caller: the appliance has answered, and that answer is what the caller
   * gets; a key this cannot write is freed by its lease, and its settled parts are already stored.
   */
  async finish(hold: KeyHold | undefined, answer: RunAnswer, fleet: boolean): Promise<void> {
    if (!hold) return;
    try {
      if (answer.final && fleet) {
        await this.keys.complete({ ...hold, entryId: answer.entryId, response: storedResponseOf(answer) });
      } else if (!answer.final) {
        await this.keys.release(hold.caller, hold.key, hold.owner);
      }
    } catch (error) {
      this.logger.warn(
        { err: error, requestId: hold.requestId },
        'the Idempotency-Key could not be updated after the run; its lease frees it, its settled answers stay',
      );
    }
  }

  /**
   * Holds the claim while its run goes on: the lease is renewed every third of itself, so a retry takes the key over
   * only once this process stopped renewing (it died, or cannot reach the store), never because a slow run (a queue
   * for the appliance's lane, a fleet of slow members) outlasted the lease it was given at the start. Returns the stop.
   */
  keepAlive(hold: KeyHold | undefined): () => void {
    if (!hold) return () => undefined;
    const { caller, key, owner, leaseMs, requestId } = hold;
    const timer = setInterval(
      () => {
        this.keys.renew(caller, key, owner, leaseMs).then(
          (held) => {
            if (!held) this.logger.warn({ requestId }, IDEMPOTENCY_CLAIM_LOST);
          },
          (error: unknown) =>
            this.logger.warn(
              { err: error, requestId },
              'the Idempotency-Key lease could not be renewed; it is tried again, and lapses if it keeps failing',
            ),
        );
      },
      Math.max(1, Math.floor(leaseMs / 3)),
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Gives a key up when the run could not go on (an unexpected error): best effort, the lease frees it anyway. */
  async abandon(hold: KeyHold | undefined): Promise<void> {
    if (hold) await this.keys.release(hold.caller, hold.key, hold.owner).catch(() => undefined);
  }

  /**
   * A login and the run itself, each under the slowest appliance's timeout (as the registry holds it now: SIGHUP may
   * have changed it), per round of the fleet; plus a margin.
   */
  private leaseMs(members: number): number {
    const slowest = Math.max(0, ...this.registry.all().map((client) => client.config.timeoutMs));
    const rounds = Math.ceil(members / this.config.fleet.concurrency);
    return Math.min(MAX_LEASE_MS, rounds * 2 * slowest + LEASE_MARGIN_MS);
  }

  private entry(principal: Principal, request: IdempotentRequest) {
    return requestedRunEntry(principal, request.origin, request.run);
  }
}

/** What makes two requests the same request: method, path and query, the body's canonical form, and its variant. */
function fingerprint(request: IdempotentRequest): string {
  return (
    createHash('sha256')
      .update(`${request.method} ${request.url}\n${canonicalJson(toPlain(request.body))}`)
      // Absent for every request that has none, so the fingerprints of keys stored before it stay the same.
      .update(request.variant === undefined ? '' : `\n${request.variant}`)
      .digest('hex')
  );
}

/** A DTO instance as its plain JSON value (undefined properties dropped, as JSON drops them). */
function toPlain(body: unknown): unknown {
  return body === undefined ? null : (JSON.parse(JSON.stringify(body)) as unknown);
}

function jobIdOf(body: unknown): string | undefined {
  const job = (body as { job?: { id?: unknown } } | null)?.job;
  return typeof job?.id === 'string' ? job.id : undefined;
}
