import { FollowJobError, followJob, type JobUpdate } from '../../../clients/typescript/src/job-events.js';
import { asProblem, CONSOLE_HEADERS, type Problem, SESSION_ENDED } from './client';

export type JobEvent = JobUpdate | { type: 'reconnecting'; reason: string } | { type: 'failed'; problem: Problem };

/**
 * Follows a job to its end with the portals' own follower (the typed client's followJob): it reconnects when the
 * gateway ends the stream early or the connection drops, reading the job's state first, so the bar never stays on a
 * "Running" the job has left. Only a final refusal stops it (the session ended: the sign-in page takes over).
 */
export async function watchJob(
  appliance: string,
  jobId: string,
  onEvent: (event: JobEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  try {
    await followJob({
      baseUrl: '',
      applianceId: appliance,
      jobId,
      headers: () => ({ ...CONSOLE_HEADERS }),
      credentials: 'same-origin',
      signal,
      onUpdate: onEvent,
      onReconnect: (_attempt, reason) => onEvent({ type: 'reconnecting', reason }),
    });
  } catch (error) {
    if (signal.aborted) return;
    if (error instanceof FollowJobError) {
      if (error.status === 401) window.dispatchEvent(new Event(SESSION_ENDED));
      onEvent({ type: 'failed', problem: asProblem(error.problem, error.status) });
    } else {
      onEvent({ type: 'failed', problem: asProblem(error) });
    }
  }
}
