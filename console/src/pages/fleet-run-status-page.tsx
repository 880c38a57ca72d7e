import { useEffect, useState } from 'preact/hooks';
import { api, asProblem, BACKGROUND_HEADERS, type FleetRun, type FleetRunMember, type Problem } from '../api/client';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ProblemMessage } from '../components/problem-message';
import { TimeText } from '../components/time-text';
import { applianceHref } from '../router';
import { useScopes } from '../session';

/**
 * How often a running fleet run is read again. Polling, not its event stream: one small GET every few seconds is
 * enough for states that change when a backup ends (minutes), a dropped connection needs no reconnect logic (the
 * next read is the retry), and it stops by itself once the run has ended.
 */
const REFRESH_MS = 2_000;

const STATE_WORDS: Record<FleetRunMember['state'], string> = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  unknown: 'Unknown: may have started',
  cancelled: 'Cancelled',
};

const RUN_WORDS: Record<FleetRun['state'], string> = {
  running: 'Running',
  completed: 'Completed',
  cancelled: 'Cancelled (backups already running go on to their end)',
};

/** A fleet run in waves (GET /backups/runs/{id}): its members by backup target, followed until the run ends. */
export function FleetRunStatusPage({ id }: { id: string }) {
  const scopes = useScopes();
  const [run, setRun] = useState<FleetRun | undefined>();
  const [problem, setProblem] = useState<Problem | undefined>();
  const [confirming, setConfirming] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const [cancelProblem, setCancelProblem] = useState<Problem | undefined>();

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The first read is the user's; the timed ones are background reads, so a page left open lets a session idle out.
    const load = async (background: boolean) => {
      let ended = false;
      try {
        const { data, error, response } = await api.GET('/backups/runs/{fleetRunId}', {
          params: { path: { fleetRunId: id } },
          ...(background ? { headers: BACKGROUND_HEADERS } : {}),
        });
        if (stopped) return;
        if (data) {
          setRun(data);
          setProblem(undefined);
          // A cancelled run's running members go on: followed until none is queued or running.
          ended = !data.members.some((m) => m.state === 'queued' || m.state === 'running');
        } else {
          setProblem(asProblem(error, response.status));
          // A final refusal (404: no such run, or not for this user; 401: the sign-in page takes over) is not retried.
          ended = response.status < 500 && response.status !== 429;
        }
      } catch (failure) {
        if (stopped) return;
        setProblem(asProblem(failure));
      }
      if (!ended) timer = setTimeout(() => void load(true), REFRESH_MS);
    };
    setRun(undefined);
    setProblem(undefined);
    void load(false);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [id]);

  const cancel = async () => {
    setCancelling(true);
    try {
      const { data, error, response } = await api.POST('/backups/runs/{fleetRunId}/cancel', {
        params: { path: { fleetRunId: id } },
      });
      if (data) {
        setRun(data);
        setCancelProblem(undefined);
        setConfirming(false);
      } else setCancelProblem(asProblem(error, response.status));
    } catch (failure) {
      setCancelProblem(asProblem(failure));
    } finally {
      setCancelling(false);
    }
  };

  const queued = run?.members.filter((m) => m.state === 'queued') ?? [];
  // The API lets the starter or whoever may run on every member cancel; the console offers it to the latter.
  const mayCancel =
    run?.state === 'running' && queued.length > 0 && run.members.every((m) => scopes.may('backups:run', m.appliance));
  return (
    <section aria-labelledby="fleet-run-status-title">
      <h1 id="fleet-run-status-title">Fleet run {run ? run.schedule : ''}</h1>
      {problem && <ProblemMessage problem={problem} context="Fleet run" />}
      {!run && !problem && <p aria-busy="true">Loading…</p>}
      {run && (
        <>
          <dl class="facts">
            <dt>State</dt>
            <dd class={`status fleet-${run.state}`} aria-live="polite">
              {RUN_WORDS[run.state]}
            </dd>
            <dt>Started</dt>
            <dd>
              <TimeText iso={run.createdAt} />
            </dd>
            {run.endedAt && (
              <>
                <dt>Ended</dt>
                <dd>
                  <TimeText iso={run.endedAt} />
                </dd>
              </>
            )}
            {run.comment && (
              <>
                <dt>Comment</dt>
                <dd>{run.comment}</dd>
              </>
            )}
            <dt>Id</dt>
            <dd>
              <code>{run.id}</code>
            </dd>
          </dl>
          {mayCancel && (
            <button type="button" class="secondary" onClick={() => setConfirming(true)}>
              Cancel {queued.length} queued backup{queued.length === 1 ? '' : 's'}
            </button>
          )}
          {byTarget(run.members).map(([target, members]) => (
            <section key={target} class="fleet-target" aria-label={`Backup target ${target}`} data-target={target}>
              <h2>
                <code>{target}</code>
              </h2>
              <ul class="results">
                {members.map((member) => (
                  <MemberRow key={member.appliance} member={member} />
                ))}
              </ul>
            </section>
          ))}
        </>
      )}
      {confirming && (
        <ConfirmDialog
          title={`Cancel ${queued.length} queued backup${queued.length === 1 ? '' : 's'}?`}
          confirmLabel="Cancel queued backups"
          busyLabel="Cancelling…"
          busy={cancelling}
          onConfirm={() => void cancel()}
          onCancel={() => setConfirming(false)}
        >
          <p>{queued.map((m) => m.appliance).join(', ')} will not start. Backups already running go on to their end.</p>
          {cancelProblem && <ProblemMessage problem={cancelProblem} />}
        </ConfirmDialog>
      )}
    </section>
  );
}

function MemberRow({ member }: { member: FleetRunMember }) {
  return (
    <li class="result" data-appliance={member.appliance}>
      <p>
        <a href={applianceHref(member.appliance)}>
          <strong>{member.appliance}</strong>
        </a>{' '}
        <span class={`status member-${member.state}`}>{STATE_WORDS[member.state]}</span>
        {member.jobId && (
          <>
            {' '}
            <code class="muted">{member.jobId}</code>
          </>
        )}
        {member.startedAt && (
          <span class="muted">
            {' '}
            started <TimeText iso={member.startedAt} timeOnly />
          </span>
        )}
        {member.endedAt && (
          <span class="muted">
            {' '}
            ended <TimeText iso={member.endedAt} timeOnly />
          </span>
        )}
      </p>
      {member.error && <ProblemMessage problem={member.error} />}
    </li>
  );
}

/** Members by backup target, targets in the order their first member was asked for, members in queue order. */
function byTarget(members: FleetRunMember[]): [string, FleetRunMember[]][] {
  const groups = new Map<string, FleetRunMember[]>();
  for (const member of members) groups.set(member.target, [...(groups.get(member.target) ?? []), member]);
  return [...groups];
}
