import { useEffect, useRef, useState } from 'preact/hooks';
import { type Appliance, api, asProblem, type Job, type Problem, type Schedule } from '../api/client';
import { ConfirmDialog } from '../components/confirm-dialog';
import { JobProgress } from '../components/job-progress';
import { ProblemMessage } from '../components/problem-message';
import { RunFailure } from '../components/run-failure';
import { StatusBadge } from '../components/status-badge';
import { TableRegion } from '../components/table-region';
import { TimeText } from '../components/time-text';
import { type RunOutcome, useConfirmedRun } from '../components/use-confirmed-run';
import { useScopes } from '../session';
import { announceSessionEnded, takeOfferedRun } from '../session-resume';

type Loaded<T> = { data: T } | { problem: Problem } | undefined;

/** One appliance: its schedules (with Run now where the user may run), its recent jobs, running ones live. */
export function AppliancePage({ id }: { id: string }) {
  const scopes = useScopes();
  const [appliance, setAppliance] = useState<Appliance | undefined>();
  const [schedules, setSchedules] = useState<Loaded<Schedule[]>>();
  const [jobs, setJobs] = useState<Loaded<Job[]>>();
  const [started, setStarted] = useState<Job[]>([]);

  const loadJobs = async () => {
    const { data, error, response } = await api
      .GET('/appliances/{applianceId}/backups/jobs', { params: { path: { applianceId: id } } })
      .catch((failure: unknown) => ({ data: undefined, error: failure, response: undefined }));
    setJobs(data ? { data: data.items } : { problem: asProblem(error, response?.status) });
  };

  useEffect(() => {
    setStarted([]);
    void api.GET('/appliances').then(({ data }) => setAppliance(data?.items.find((item) => item.id === id)));
    void api
      .GET('/appliances/{applianceId}/backups/schedules', { params: { path: { applianceId: id } } })
      .then(({ data, error, response }) =>
        setSchedules(data ? { data: data.items } : { problem: asProblem(error, response.status) }),
      )
      .catch((failure: unknown) => setSchedules({ problem: asProblem(failure) }));
    void loadJobs();
  }, [id]);

  const mayRun = scopes.may('backups:run', id);
  const startedIds = new Set(started.map((job) => job.id));
  return (
    <section aria-labelledby="appliance-title">
      <h1 id="appliance-title">
        {appliance?.name ?? id} {appliance && <StatusBadge status={appliance.status} />}
      </h1>
      <p class="muted">
        <code>{id}</code>{' '}
        {appliance?.tags.map((tag) => (
          <span key={tag} class="tag">
            {tag}
          </span>
        ))}
      </p>

      <h2>Schedules</h2>
      {schedules === undefined && <p aria-busy="true">Loading schedules…</p>}
      {schedules && 'problem' in schedules && <ProblemMessage problem={schedules.problem} context="Schedules" />}
      {schedules && 'data' in schedules && (
        <TableRegion label="Schedules">
          <table>
            <caption class="visually-hidden">Backup schedules of {id}</caption>
            <thead>
              <tr>
                <th scope="col">Schedule</th>
                <th scope="col">Recurrence</th>
                <th scope="col">Retention</th>
                <th scope="col">Location</th>
                <th scope="col">Parts</th>
                {mayRun && (
                  <th scope="col" class="sticky-end">
                    Action
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {schedules.data.map((schedule) => (
                <tr key={schedule.id}>
                  <th scope="row">
                    {schedule.id}
                    {!schedule.enabled && <span class="tag">disabled</span>}
                  </th>
                  <td>{recurrenceText(schedule)}</td>
                  <td>{schedule.retention?.maxCount ? `last ${schedule.retention.maxCount}` : '—'}</td>
                  <td class="wrap">{schedule.location ?? '—'}</td>
                  <td>{schedule.parts.join(', ') || '—'}</td>
                  {mayRun && (
                    <td class="sticky-end">
                      <RunNow
                        appliance={id}
                        schedule={schedule.id}
                        onStarted={(job) => {
                          setStarted((list) => [job, ...list]);
                          void loadJobs();
                        }}
                        onUnknown={() => {
                          void loadJobs();
                          // After the dialog has closed: closing gives focus back to its opener.
                          setTimeout(() => document.getElementById('recent-jobs')?.focus(), 0);
                        }}
                      />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}

      {started.length > 0 && (
        <>
          <h2>Started here</h2>
          {started.map((job) => (
            <JobProgress key={job.id} appliance={id} job={job} onEnd={() => void loadJobs()} />
          ))}
        </>
      )}

      <h2 id="recent-jobs" tabIndex={-1}>
        Recent jobs
      </h2>
      {jobs === undefined && <p aria-busy="true">Loading jobs…</p>}
      {jobs && 'problem' in jobs && <ProblemMessage problem={jobs.problem} context="Jobs" />}
      {jobs && 'data' in jobs && jobs.data.length === 0 && <p class="muted">No backup jobs yet.</p>}
      {jobs && 'data' in jobs && jobs.data.length > 0 && (
        <TableRegion label="Recent jobs">
          <table>
            <caption class="visually-hidden">Recent backup jobs of {id}</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">State</th>
                <th scope="col">Started</th>
                <th scope="col">Ended</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.map((job) => (
                <tr key={job.id}>
                  <th scope="row">
                    <code>{job.id}</code>
                  </th>
                  <td class="job-cell">
                    {job.state !== 'INPROGRESS' ? (
                      `${job.state} ${job.progress}%`
                    ) : startedIds.has(job.id) ? (
                      'Running (followed above)'
                    ) : (
                      <JobProgress appliance={id} job={job} onEnd={() => void loadJobs()} />
                    )}
                  </td>
                  <td>
                    <TimeText iso={job.startTime} />
                  </td>
                  <td>
                    <TimeText iso={job.endTime} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}

/** Run now: a comment, a confirmation, one Idempotency-Key per confirmed click. */
function RunNow({
  appliance,
  schedule,
  onStarted,
  onUnknown,
}: {
  appliance: string;
  schedule: string;
  onStarted: (job: Job) => void;
  /** The run's outcome is unknown: the operator goes to the job list. */
  onUnknown: () => void;
}) {
  // Back after signing in again: the run the ended session refused is shown again, to be confirmed, never sent.
  const [resumed] = useState(() => takeOfferedRun(appliance, schedule));
  const button = useRef<HTMLButtonElement>(null);
  const [open, setOpen] = useState(resumed !== undefined);
  const [comment, setComment] = useState(resumed?.comment ?? '');
  const run = useConfirmedRun(async (key): Promise<RunOutcome<Job>> => {
    try {
      const { data, error, response } = await api.POST('/appliances/{applianceId}/backups/schedules/{scheduleId}/run', {
        params: { path: { applianceId: appliance, scheduleId: schedule } },
        headers: { 'Idempotency-Key': key },
        body: comment.trim() === '' ? {} : { comment: comment.trim() },
      });
      // The session ended: the sign-in page says this run did not start, and brings the operator back to it.
      if (response.status === 401) announceSessionEnded({ appliance, schedule, comment });
      return data ? { ok: true, value: data.job } : { ok: false, problem: asProblem(error, response.status) };
    } catch (failure) {
      return { ok: false, problem: asProblem(failure) };
    }
  });

  useEffect(() => {
    if (run.state.status === 'done') {
      onStarted(run.state.value);
      setOpen(false);
      setComment('');
      run.reset();
    }
  }, [run.state.status]);

  const busy = run.state.status === 'sending';
  return (
    <>
      <button ref={button} type="button" class="primary" onClick={() => setOpen(true)} aria-haspopup="dialog">
        Run now<span class="visually-hidden"> {schedule}</span>
      </button>
      {open && (
        <ConfirmDialog
          title={`Run schedule ${schedule} on ${appliance}?`}
          confirmLabel="Start backup"
          busy={busy}
          canConfirm={!(run.state.status === 'failed' && run.state.kind === 'unknown')}
          opener={() => button.current}
          onConfirm={() => void run.confirm()}
          onCancel={() => {
            setOpen(false);
            run.reset();
          }}
        >
          {resumed && run.state.status === 'idle' && (
            <p role="status" class="notice">
              You are signed in again. This backup did not start when your session ended: confirm to start it now.
            </p>
          )}
          <p>The appliance starts a backup now, whatever its schedule says.</p>
          <label for={`comment-${schedule}`}>Comment (optional, saved with the backup)</label>
          <textarea
            id={`comment-${schedule}`}
            maxLength={1000}
            rows={3}
            value={comment}
            disabled={busy}
            onInput={(event) => setComment(event.currentTarget.value)}
          />
          {run.state.status === 'failed' && (
            <RunFailure
              problem={run.state.problem}
              kind={run.state.kind}
              onRetry={() => void run.retry()}
              onShowJobs={() => {
                setOpen(false);
                run.reset();
                onUnknown();
              }}
              jobsLabel="Show the recent jobs"
            />
          )}
        </ConfirmDialog>
      )}
    </>
  );
}

const DAY_NAMES: Record<string, string> = {
  MONDAY: 'Mon',
  TUESDAY: 'Tue',
  WEDNESDAY: 'Wed',
  THURSDAY: 'Thu',
  FRIDAY: 'Fri',
  SATURDAY: 'Sat',
  SUNDAY: 'Sun',
};

function recurrenceText(schedule: Schedule): string {
  const recurrence = schedule.recurrence;
  if (!recurrence) return 'manual only';
  const days =
    recurrence.days.length === 0 || recurrence.days.length === 7
      ? 'daily'
      : recurrence.days.map((d) => DAY_NAMES[d] ?? d).join(' ');
  const time =
    recurrence.hour === null
      ? ''
      : ` at ${String(recurrence.hour).padStart(2, '0')}:${String(recurrence.minute ?? 0).padStart(2, '0')}`;
  return `${days}${time}`;
}
