import { useEffect, useState } from 'preact/hooks';
import type { Job, Problem } from '../api/client';
import { watchJob } from '../api/job-events';
import { ProblemMessage } from './problem-message';
import { TimeText } from './time-text';

const STATE_WORDS: Record<Job['state'], string> = {
  NONE: 'Waiting',
  INPROGRESS: 'Running',
  SUCCEEDED: 'Succeeded',
  FAILED: 'Failed',
};

/**
 * A job's progress bar, fed by the job's event stream while it runs, with its messages and its end state. A stream
 * that stops early is followed again (watchJob); it closes when the job ends or the component goes away (the
 * gateway then stops polling for this watcher).
 */
export function JobProgress({
  appliance,
  job: initial,
  onEnd,
}: {
  appliance: string;
  job: Job;
  onEnd?: (job: Job) => void;
}) {
  const [job, setJob] = useState(initial);
  const [problem, setProblem] = useState<Problem | undefined>();
  const [reconnecting, setReconnecting] = useState(false);
  const running = job.state === 'INPROGRESS' || job.state === 'NONE';

  useEffect(() => {
    if (initial.state === 'SUCCEEDED' || initial.state === 'FAILED') return;
    const abort = new AbortController();
    void watchJob(
      appliance,
      initial.id,
      (event) => {
        if (event.type === 'reconnecting') return setReconnecting(true);
        setReconnecting(false);
        if (event.type === 'progress') setJob(event.job);
        else if (event.type === 'end') {
          setJob(event.job);
          onEnd?.(event.job);
        } else if (event.type === 'failed') setProblem(event.problem);
      },
      abort.signal,
    );
    return () => abort.abort();
  }, [appliance, initial.id, initial.state]);

  const label = `Backup ${job.id} on ${appliance}`;
  return (
    <div class={`job job-${job.state.toLowerCase()}`} data-job-id={job.id}>
      <div class="job-head">
        <span class="job-state" aria-live="polite">
          {STATE_WORDS[job.state]}
          {!running && job.endTime && (
            <>
              {' at '}
              <TimeText iso={job.endTime} timeOnly />
            </>
          )}
        </span>
        <code class="muted">{job.id}</code>
        <span class="job-percent">{job.progress}%</span>
      </div>
      <progress max={100} value={job.progress} aria-label={label}>
        {job.progress}%
      </progress>
      {job.messages.length > 0 && (
        <ul class="job-messages" aria-label={`Messages of ${label}`}>
          {job.messages.map((message) => (
            <li key={message.id}>{message.message}</li>
          ))}
        </ul>
      )}
      {reconnecting && running && (
        <p class="muted" role="status">
          Progress paused: reconnecting to the gateway (the backup itself goes on)…
        </p>
      )}
      {problem && <ProblemMessage problem={problem} context="Progress" />}
    </div>
  );
}
