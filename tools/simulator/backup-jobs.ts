/**
 * The appliance's backup jobs. State is computed from the clock when asked (no timers), so a stopped simulator leaves
 * nothing scheduled and tests can drive time with an injected clock.
 */
import type { VapiLocalizableMessage } from './vapi-errors.js';

export type BackupState = 'FAILED' | 'INPROGRESS' | 'NONE' | 'SUCCEEDED';

/** BackupJobStatus as the appliance sends it (snake_case; end_time absent until the job ends). */
export interface BackupJobStatus {
  id: string;
  state: BackupState;
  messages: VapiLocalizableMessage[];
  progress: number;
  start_time: string;
  end_time?: string;
}

export interface SimulatedJob {
  id: string;
  schedule: string;
  /** The run call's comment ('' when none, as the appliance records it). */
  comment: string;
  startedAt: number;
  durationMs: number;
  /** How the job ends once its duration has passed. */
  outcome: 'SUCCEEDED' | 'FAILED';
  /** Set when the job was ended early (finishRunningJobs). */
  endedAt?: number;
}

/** Message ids and texts are our own: VMware does not document them. */
const MESSAGES: Record<BackupState, VapiLocalizableMessage> = {
  INPROGRESS: {
    id: 'com.vmware.applmgmt.backup.job.inprogress',
    default_message: 'Backup job is in progress.',
    args: [],
  },
  SUCCEEDED: { id: 'com.vmware.applmgmt.backup.job.succeeded', default_message: 'Backup job completed.', args: [] },
  FAILED: { id: 'com.vmware.applmgmt.backup.job.failed', default_message: 'Backup job failed.', args: [] },
  NONE: { id: 'com.vmware.applmgmt.backup.job.none', default_message: 'Backup job is not started.', args: [] },
};

export class BackupJobs {
  private readonly jobs = new Map<string, SimulatedJob>();
  // Third group of the id: a per-instance counter from a random 8-digit base, so ids never repeat within a
  // simulator and rarely across simulators (ids are opaque to clients; VMware only says "TimeStamp based").
  private sequence = 10_000_000 + Math.floor(Math.random() * 80_000_000);

  constructor(private readonly clock: () => number) {}

  start(schedule: string, comment: string, durationMs: number, outcome: 'SUCCEEDED' | 'FAILED'): SimulatedJob {
    const startedAt = this.clock();
    const job: SimulatedJob = { id: this.nextId(startedAt), schedule, comment, startedAt, durationMs, outcome };
    this.jobs.set(job.id, job);
    return job;
  }

  get(id: string): SimulatedJob | undefined {
    return this.jobs.get(id);
  }

  /** In start order. */
  all(): SimulatedJob[] {
    return [...this.jobs.values()];
  }

  anyRunning(): boolean {
    const now = this.clock();
    return this.all().some((job) => stateAt(job, now) === 'INPROGRESS');
  }

  /** Ends every running job now, with the given state. */
  finishRunning(state: 'SUCCEEDED' | 'FAILED'): number {
    const now = this.clock();
    let finished = 0;
    for (const job of this.all()) {
      if (stateAt(job, now) !== 'INPROGRESS') continue;
      job.endedAt = now;
      job.outcome = state;
      finished += 1;
    }
    return finished;
  }

  status(job: SimulatedJob): BackupJobStatus {
    return statusAt(job, this.clock());
  }

  private nextId(now: number): string {
    // e.g. 20230505-130519-17694360: UTC date, UTC time, counter
    const iso = new Date(now).toISOString(); // 2023-05-05T13:05:19.176Z
    const date = iso.slice(0, 10).replaceAll('-', '');
    const time = iso.slice(11, 19).replaceAll(':', '');
    this.sequence = this.sequence >= 99_999_999 ? 10_000_000 : this.sequence + 1;
    return `${date}-${time}-${this.sequence}`;
  }
}

function endOf(job: SimulatedJob): number {
  return job.endedAt ?? job.startedAt + job.durationMs;
}

function stateAt(job: SimulatedJob, now: number): BackupState {
  return now >= endOf(job) ? job.outcome : 'INPROGRESS';
}

/** The run call's answer: the job as it is at its start, whatever its duration. */
export function initialStatus(job: SimulatedJob): BackupJobStatus {
  return statusOf(job, 'INPROGRESS', job.startedAt);
}

export function statusAt(job: SimulatedJob, now: number): BackupJobStatus {
  return statusOf(job, stateAt(job, now), now);
}

function statusOf(job: SimulatedJob, state: BackupState, now: number): BackupJobStatus {
  const base = { id: job.id, state, messages: [MESSAGES[state]], start_time: new Date(job.startedAt).toISOString() };
  if (state === 'SUCCEEDED') return { ...base, progress: 100, end_time: new Date(endOf(job)).toISOString() };
  // progress is the elapsed share of the duration; a failed job keeps the share it had reached when it ended
  const at = state === 'INPROGRESS' ? now : endOf(job);
  const share = job.durationMs > 0 ? (at - job.startedAt) / job.durationMs : 0;
  const progress = Math.max(0, Math.min(state === 'INPROGRESS' ? 99 : 100, Math.floor(share * 100)));
  return state === 'INPROGRESS' ? { ...base, progress } : { ...base, progress, end_time: new Date(at).toISOString() };
}
