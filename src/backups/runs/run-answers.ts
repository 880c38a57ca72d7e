/**
 * A run's HTTP answer as a value: status, the headers that matter, body, the audit entry that recorded it, and
 * whether it is final. Values, so that an Idempotency-Key retry can be given exactly the same answer later.
 */
import type { StoredResponse } from '../../audit/idempotency-keys.js';
import { GatewayError } from '../../problems/gateway-error.js';
import { problemDocument } from '../../problems/problem-document.js';
import type { JobDto, RunAcceptedDto } from '../dto/job.dto.js';
import type { FleetRunResultsDto } from './dto/fleet-run.dto.js';

export type FleetMemberResult = FleetRunResultsDto['results'][number];

/**
 * One appliance's run: the job it started, the problem the single run would have answered, or (a fleet retry under
 * an Idempotency-Key) the final answer it had before; and the audit entry that recorded the answer.
 */
export type RunResult = { appliance: string; requestId: string; entryId: string } & (
  | { job: JobDto }
  | { error: GatewayError }
  | { replayed: FleetMemberResult }
);

export interface RunAnswer {
  status: number;
  /** Lower-case names; only those worth replaying (Location, Retry-After). */
  headers: Record<string, string>;
  body: unknown;
  /** The audit entry that recorded this answer ('' when none did). */
  entryId: string;
  /**
   * A decided outcome (the backup started, or the gateway or the appliance said no for good): a retry with the same
   * Idempotency-Key gets it again. Not final: the outcome is unknown (the backup may have started), the run could not
   * be done (5xx), or it was refused for now (another backup is running): a retry must run again to learn the truth,
   * so the key is released.
   */
  final: boolean;
}

/**
 * Refusals that last only as long as something else: another backup running on the appliance, or as many as allowed
 * on its backup target, ends.
 */
const TRANSIENT_CODES = new Set(['BACKUP_IN_PROGRESS', 'TARGET_BUSY']);

/** A final answer as the key store keeps it. */
export function storedResponseOf(answer: RunAnswer): StoredResponse {
  return { status: answer.status, headers: answer.headers, body: JSON.stringify(answer.body) };
}

/** A single run's answer: 202 with the job and its Location, or the run's problem. */
export function singleRunAnswer(schedule: string, result: RunResult, instance: string): RunAnswer {
  if ('replayed' in result) throw new Error('a single run has no members to replay');
  if ('error' in result) return problemAnswer(result.error, instance, result.requestId, result.entryId);
  const { appliance, job, requestId, entryId } = result;
  const body: RunAcceptedDto = { appliance, schedule, job, requestId };
  const location = `/appliances/${encodeURIComponent(appliance)}/backups/jobs/${encodeURIComponent(job.id)}`;
  return { status: 202, headers: { location }, body, entryId, final: true };
}

/** A fleet run's 207: per appliance, the status and the job or problem document the single run would give. */
export function fleetRunAnswer(schedule: string, requestId: string, results: RunResult[], instance: string): RunAnswer {
  const body: FleetRunResultsDto = {
    schedule,
    requestId,
    results: results.map((result) => memberAnswer(result, instance)),
  };
  const final = results.every(isFinalResult);
  return { status: 207, headers: {}, body, entryId: results[0]?.entryId ?? '', final };
}

/**
 * A queued fleet run's 202 (`Prefer: respond-async`): the fleet run as it was created, and where to follow it. Final:
 * a retry with the same Idempotency-Key is given this answer and its Location again.
 */
export function fleetQueuedAnswer(fleetRun: { id: string }): RunAnswer {
  const headers = {
    location: `/backups/runs/${encodeURIComponent(fleetRun.id)}`,
    'preference-applied': 'respond-async',
  };
  return { status: 202, headers, body: fleetRun, entryId: '', final: true };
}

/** One member's entry in the 207: what a retry replays when it was final. */
export function memberAnswer(result: RunResult, instance: string): FleetMemberResult {
  if ('replayed' in result) return result.replayed;
  return 'error' in result
    ? {
        appliance: result.appliance,
        status: result.error.status,
        problem: problemDocument(result.error, instance, result.requestId),
      }
    : { appliance: result.appliance, status: 202, job: result.job };
}

export function isFinalResult(result: RunResult): boolean {
  return !('error' in result) || isFinal(result.error);
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
  return error.status < 500 && !error.details.mayHaveStarted && !TRANSIENT_CODES.has(error.code);
}
