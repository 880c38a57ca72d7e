import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { canonicalJson } from '../audit/audit-chain.js';
import { AuditRecorder } from '../audit/audit-recorder.js';
import { IdempotencyKeys } from '../audit/idempotency-keys.js';
import type { Principal } from '../auth/principal.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { requestContext } from '../context/request-context.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { GatewayError } from '../problems/gateway-error.js';
import type { RunAnswer } from './run-answers.js';
import { auditActor, runEntry } from './run-audit.js';

/** 1–255 printable ASCII characters (the IETF draft "The Idempotency-Key HTTP Header Field" leaves the form to us). */
const KEY = /^[\x20-\x7E]{1,255}$/;
const HOUR_MS = 60 * 60 * 1000;

export interface IdempotentRequest {
  /** The `Idempotency-Key` header, if the caller sent one. */
  key: string | undefined;
  method: string;
  /** Path and query as sent: the short form's `?appliance=` is part of what the request asks. */
  url: string;
  body: unknown;
  /** What the audit trail says about this request if it is refused or replayed here. */
  run: { appliance: string; schedule: string; comment?: string };
}

/**
 * Runs with an Idempotency-Key (IETF draft): the first request with a key runs, and its final answer is stored with
 * a fingerprint of the request (method, path and query, body); a retry with the same key and fingerprint within
 * `idempotency.ttlHours` gets that answer again, with `Idempotent-Replayed: true`, and nothing reaches an appliance.
 * The same key for another request is 422 IDEMPOTENCY_KEY_REUSED; a retry while the first is still running is 409
 * IDEMPOTENCY_REQUEST_IN_PROGRESS (with Retry-After: we answer at once rather than hold the connection). Keys belong
 * to a caller: one caller can never be given another's answer. An answer that is not final (the backup may have
 * started, or the run could not be done) is not stored: the key is released, and a retry runs and learns the truth.
 * Replays and refusals are audited like any other attempt; a replay names the entry of the original answer.
 */
@Injectable()
export class IdempotentRuns {
  constructor(
    private readonly keys: IdempotencyKeys,
    private readonly audit: AuditRecorder,
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics,
  ) {}

  async answer(
    principal: Principal,
    request: IdempotentRequest,
    execute: () => Promise<RunAnswer>,
  ): Promise<RunAnswer & { replayed: boolean }> {
    const { key } = request;
    if (key === undefined) return { ...(await execute()), replayed: false };
    if (!KEY.test(key)) {
      throw new GatewayError('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 255 printable ASCII characters.', {
        errors: [{ field: 'Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' }],
      });
    }
    const caller = principal.caller;
    const started = performance.now();
    const expiresAt = new Date(Date.now() + this.config.idempotency.ttlHours * HOUR_MS);
    const claim = await this.keys.claim(caller, key, fingerprint(request), expiresAt);
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
      return {
        status: claim.response.status,
        headers: claim.response.headers,
        body: original,
        entryId: claim.entryId,
        final: true,
        replayed: true,
      };
    }
    if (claim.state !== 'claimed') {
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
    let answer: RunAnswer;
    try {
      answer = await execute();
    } catch (error) {
      await this.keys.release(caller, key);
      throw error;
    }
    if (answer.final) {
      const response = { status: answer.status, headers: answer.headers, body: JSON.stringify(answer.body) };
      await this.keys.complete(caller, key, response, answer.entryId);
    } else {
      await this.keys.release(caller, key);
    }
    return { ...answer, replayed: false };
  }

  private entry(principal: Principal, request: IdempotentRequest) {
    return runEntry(auditActor(principal), { requestId: requestContext.requestId() ?? 'unknown', ...request.run });
  }
}

/** What makes two requests the same request: method, path and query, and the body's canonical form. */
function fingerprint(request: IdempotentRequest): string {
  return createHash('sha256')
    .update(`${request.method} ${request.url}\n${canonicalJson(toPlain(request.body))}`)
    .digest('hex');
}

/** A DTO instance as its plain JSON value (undefined properties dropped, as JSON drops them). */
function toPlain(body: unknown): unknown {
  return body === undefined ? null : (JSON.parse(JSON.stringify(body)) as unknown);
}

function jobIdOf(body: unknown): string | undefined {
  const job = (body as { job?: { id?: unknown } } | null)?.job;
  return typeof job?.id === 'string' ? job.id : undefined;
}
