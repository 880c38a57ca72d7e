/**
 * A run's HTTP answer as a value: status, the headers that matter, body, the audit entry that recorded it, and
 * whether it is final. Values, so that an Idempotency-Key retry can be given exactly the same answer later.
 */
import type { FastifyReply } from 'fastify';
import { requestContext } from '../context/request-context.js';
import { GatewayError } from '../problems/gateway-error.js';
import { problemDocument } from '../problems/problem-document.js';
import type { FleetRunDto207 } from './dto/fleet-run.dto.js';
import type { RunAcceptedDto } from './dto/job.dto.js';
import type { RunResult } from './runs.service.js';

export interface RunAnswer {
  status: number;
  /** Lower-case names; only those worth replaying (Location, Retry-After). */
  headers: Record<string, string>;
  body: unknown;
  /** The audit entry that recorded this answer ('' when none did). */
  entryId: string;
  /**
   * A decided outcome (the backup started, or the gateway or the appliance said no): a retry with the same
   * Idempotency-Key gets it again. Not final: the outcome is unknown (the backup may have started) or the run could
   * not be done (5xx): a retry must run again to learn the truth, so the key is released.
   */
  final: boolean;
}

const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

/** A single run's answer: 202 with the job and its Location, or the run's problem. */
export function singleRunAnswer(schedule: string, result: RunResult, instance: string): RunAnswer {
  if ('error' in result) return problemAnswer(result.error, instance, result.requestId, result.entryId);
  const { appliance, job, requestId, entryId } = result;
  const body: RunAcceptedDto = { appliance, schedule, job, requestId };
  const location = `/appliances/${encodeURIComponent(appliance)}/backups/jobs/${encodeURIComponent(job.id)}`;
  return { status: 202, headers: { location }, body, entryId, final: true };
}

/** A fleet run's 207: per appliance, the status and the job or problem document the single run would give. */
export function fleetRunAnswer(schedule: string, results: RunResult[], instance: string): RunAnswer {
  const body: FleetRunDto207 = {
    schedule,
    requestId: requestContext.requestId() ?? 'unknown',
    results: results.map((result) =>
      'error' in result
        ? {
            appliance: result.appliance,
            status: result.error.status,
            problem: problemDocument(result.error, instance, result.requestId),
          }
        : { appliance: result.appliance, status: 202, job: result.job },
    ),
  };
  const final = results.every((result) => !('error' in result) || isFinal(result.error));
  return { status: 207, headers: {}, body, entryId: results[0]?.entryId ?? '', final };
}

function problemAnswer(error: GatewayError, instance: string, requestId: string, entryId = ''): RunAnswer {
  const headers: Record<string, string> = {};
  if (error.details.retryAfter !== undefined) headers['retry-after'] = String(error.details.retryAfter);
  return {
    status: error.status,
    headers,
    body: problemDocument(error, instance, requestId),
    entryId,
    final: isFinal(error),
  };
}

function isFinal(error: GatewayError): boolean {
  return error.status < 500 && !error.details.mayHaveStarted;
}

/** Sends an answer (problem documents with their media type); `replayed` marks an Idempotency-Key replay. */
export function sendAnswer(reply: FastifyReply, answer: RunAnswer, replayed = false): void {
  reply.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) reply.header(name, value);
  if (replayed) reply.header('idempotent-replayed', 'true');
  if (answer.status >= 400) reply.header('content-type', PROBLEM_JSON);
  else reply.header('content-type', 'application/json; charset=utf-8');
  reply.send(JSON.stringify(answer.body));
}
