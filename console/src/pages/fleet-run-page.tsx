import { useEffect, useState } from 'preact/hooks';
import { type Appliance, api, asProblem, type Problem } from '../api/client';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ProblemMessage } from '../components/problem-message';
import { RunFailure } from '../components/run-failure';
import { type RunOutcome, useConfirmedRun } from '../components/use-confirmed-run';
import { fleetRunHref } from '../router';
import { useScopes } from '../session';

type Target = { kind: 'tag'; tag: string } | { kind: 'appliances'; ids: string[] };

/** One schedule on many appliances (POST /backups/runs, in waves): once accepted, the fleet run's own page follows it. */
export function FleetRunPage() {
  const scopes = useScopes();
  const [appliances, setAppliances] = useState<Appliance[]>([]);
  const [loadProblem, setLoadProblem] = useState<Problem | undefined>();
  const [schedule, setSchedule] = useState('default');
  const [mode, setMode] = useState<'tag' | 'appliances'>('tag');
  const [tag, setTag] = useState('');
  const [picked, setPicked] = useState<string[]>([]);
  const [comment, setComment] = useState('');
  const [confirming, setConfirming] = useState(false);

  useEffect(() => {
    api
      .GET('/appliances')
      .then(({ data, error, response }) => {
        if (!data) return setLoadProblem(asProblem(error, response.status));
        setAppliances(data.items);
        setTag(data.items.flatMap((a) => a.tags)[0] ?? '');
      })
      .catch((failure: unknown) => setLoadProblem(asProblem(failure)));
  }, []);

  const target: Target = mode === 'tag' ? { kind: 'tag', tag } : { kind: 'appliances', ids: picked };
  const selected =
    target.kind === 'tag' ? appliances.filter((a) => a.tags.includes(target.tag)).map((a) => a.id) : target.ids;

  // In waves (`Prefer: respond-async`): the gateway queues members whose backup target is busy and keeps the run, so
  // the page that follows it (#/fleet-runs/{id}) shows it again after a reload. The key stays the confirmed click's.
  const run = useConfirmedRun(async (key): Promise<RunOutcome<string>> => {
    try {
      const body = {
        schedule: schedule.trim(),
        ...(target.kind === 'tag' ? { tags: [target.tag] } : { appliances: target.ids }),
        ...(comment.trim() === '' ? {} : { comment: comment.trim() }),
      };
      const { error, response } = await api.POST('/backups/runs', {
        headers: { 'Idempotency-Key': key, Prefer: 'respond-async' },
        body,
      });
      const id = response.status === 202 ? fleetRunId(response.headers.get('Location')) : undefined;
      if (id) return { ok: true, value: id };
      return { ok: false, problem: asProblem(error, response.status) };
    } catch (failure) {
      return { ok: false, problem: asProblem(failure) };
    }
  });

  useEffect(() => {
    if (run.state.status === 'done') {
      setConfirming(false);
      location.hash = fleetRunHref(run.state.value);
    }
  }, [run.state.status]);

  const tags = [...new Set(appliances.flatMap((a) => a.tags))].sort();
  const runnable = (id: string) => scopes.may('backups:run', id);
  return (
    <section aria-labelledby="fleet-run-title">
      <h1 id="fleet-run-title">Fleet run</h1>
      {loadProblem && <ProblemMessage problem={loadProblem} context="Appliances" />}
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          run.reset();
          setConfirming(true);
        }}
      >
        <div class="field">
          <label for="fleet-schedule">Schedule</label>
          <input
            id="fleet-schedule"
            required
            pattern="[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}"
            title="1 to 128 letters, digits, '.', '_', ':' or '-', beginning with a letter or a digit"
            value={schedule}
            onInput={(event) => setSchedule(event.currentTarget.value)}
          />
        </div>
        <fieldset>
          <legend>Appliances</legend>
          <label class="inline">
            <input type="radio" name="target" checked={mode === 'tag'} onChange={() => setMode('tag')} /> By tag
          </label>
          <label class="inline">
            <input type="radio" name="target" checked={mode === 'appliances'} onChange={() => setMode('appliances')} />{' '}
            Pick appliances
          </label>
          {mode === 'tag' ? (
            <div class="field">
              <label for="fleet-run-tag">Tag</label>
              <select id="fleet-run-tag" value={tag} onChange={(event) => setTag(event.currentTarget.value)}>
                {tags.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </div>
          ) : (
            <ul class="checklist">
              {appliances.map((a) => (
                <li key={a.id}>
                  <label class="inline">
                    <input
                      type="checkbox"
                      checked={picked.includes(a.id)}
                      onChange={(event) =>
                        setPicked((list) =>
                          event.currentTarget.checked ? [...list, a.id] : list.filter((id) => id !== a.id),
                        )
                      }
                    />{' '}
                    {a.name} <code>{a.id}</code>
                    {!runnable(a.id) && <span class="muted"> (you may not run backups here)</span>}
                  </label>
                </li>
              ))}
            </ul>
          )}
        </fieldset>
        <div class="field">
          <label for="fleet-comment">Comment (optional)</label>
          <textarea
            id="fleet-comment"
            maxLength={1000}
            rows={2}
            value={comment}
            onInput={(e) => setComment(e.currentTarget.value)}
          />
        </div>
        <div>
          <button type="submit" class="primary" disabled={selected.length === 0 || schedule.trim() === ''}>
            Run on {selected.length} appliance{selected.length === 1 ? '' : 's'}
          </button>
        </div>
      </form>

      {confirming && (
        <ConfirmDialog
          title={`Run schedule ${schedule} on ${selected.length} appliance${selected.length === 1 ? '' : 's'}?`}
          confirmLabel="Start backups"
          busy={run.state.status === 'sending'}
          canConfirm={!(run.state.status === 'failed' && run.state.kind === 'unknown')}
          onConfirm={() => {
            void run.confirm();
          }}
          onCancel={() => setConfirming(false)}
        >
          <p>{selected.join(', ')}</p>
          {run.state.status === 'failed' && (
            <RunFailure
              problem={run.state.problem}
              kind={run.state.kind}
              onRetry={() => void run.retry()}
              onShowJobs={() => {
                setConfirming(false);
                location.hash = '#/fleet';
              }}
              jobsLabel="Go to the fleet"
            />
          )}
        </ConfirmDialog>
      )}
    </section>
  );
}

/** The fleet run's id from the 202's `Location: /backups/runs/{id}`. */
function fleetRunId(location: string | null): string | undefined {
  const match = location?.match(/\/backups\/runs\/([^/?#]+)$/);
  return match ? decodeURIComponent(match[1]) : undefined;
}
