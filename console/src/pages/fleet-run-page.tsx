import { useEffect, useState } from 'preact/hooks';
import { type Appliance, api, asProblem, type FleetResult, type Problem } from '../api/client';
import { ConfirmDialog } from '../components/confirm-dialog';
import { JobProgress } from '../components/job-progress';
import { ProblemMessage } from '../components/problem-message';
import { RunFailure } from '../components/run-failure';
import { failureKind, type RunOutcome, useConfirmedRun } from '../components/use-confirmed-run';
import { applianceHref } from '../router';
import { useScopes } from '../session';

type Target = { kind: 'tag'; tag: string } | { kind: 'appliances'; ids: string[] };

/** One schedule on many appliances (POST /backups/runs): one result per appliance, each started job followed live. */
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
  const [results, setResults] = useState<FleetResult[] | undefined>();
  const [pending, setPending] = useState<string[]>([]);

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

  const run = useConfirmedRun(async (key): Promise<RunOutcome<FleetResult[]>> => {
    try {
      const body = {
        schedule: schedule.trim(),
        ...(target.kind === 'tag' ? { tags: [target.tag] } : { appliances: target.ids }),
        ...(comment.trim() === '' ? {} : { comment: comment.trim() }),
      };
      const { data, error, response } = await api.POST('/backups/runs', { headers: { 'Idempotency-Key': key }, body });
      return data ? { ok: true, value: data.results } : { ok: false, problem: asProblem(error, response.status) };
    } catch (failure) {
      return { ok: false, problem: asProblem(failure) };
    }
  });

  useEffect(() => {
    if (run.state.status === 'done') {
      setResults(run.state.value);
      setPending([]);
      setConfirming(false);
    }
    if (run.state.status === 'failed') setPending([]);
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
            setResults(undefined);
            setPending(selected);
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

      {(pending.length > 0 || results) && <h2>Results</h2>}
      {pending.length > 0 && (
        <ul class="results" aria-busy="true">
          {pending.map((id) => (
            <li key={id} class="result">
              <strong>{id}</strong> <span class="muted">waiting for the appliance…</span>
            </li>
          ))}
        </ul>
      )}
      {results && (
        <ul class="results" aria-live="polite">
          {results.map((result) => (
            <li key={result.appliance} class="result" data-appliance={result.appliance}>
              <p>
                <a href={applianceHref(result.appliance)}>
                  <strong>{result.appliance}</strong>
                </a>{' '}
                <ResultWord result={result} />
              </p>
              {result.job && <JobProgress appliance={result.appliance} job={result.job} />}
              {result.problem && <ProblemMessage problem={result.problem} />}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/**
 * One appliance's result in words, as the audit trail says it: started, refused (nothing started; "unavailable" when
 * the appliance could not take it), or unknown (it may have started). The problem below gives the status and code.
 */
function ResultWord({ result }: { result: FleetResult }) {
  const [word, kind] = resultWord(result);
  return <span class={`status status-${kind}`}>{word}</span>;
}

function resultWord(result: FleetResult): [string, 'started' | 'refused' | 'unknown'] {
  if (result.job) return ['Started', 'started'];
  const problem = result.problem;
  if (!problem) return [`Answered ${result.status}`, 'unknown'];
  if (failureKind(problem) === 'unknown') return ['Unknown: may have started', 'unknown'];
  if (problem.status === 429) return ['Refused: rate limited', 'refused'];
  if (problem.status === 403) return ['Refused: not allowed', 'refused'];
  if (problem.status >= 502 && problem.status <= 504) return ['Unavailable', 'refused'];
  return ['Refused', 'refused'];
}
