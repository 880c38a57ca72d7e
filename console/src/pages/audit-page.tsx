import { useEffect, useState } from 'preact/hooks';
import { type AuditEvent, api, asProblem, CONSOLE_HEADERS, type components, type Problem } from '../api/client';
import { ProblemMessage } from '../components/problem-message';
import { TableRegion } from '../components/table-region';
import { TimeText } from '../components/time-text';
import { applianceHref } from '../router';
import { showControls } from '../visible-controls';
import { type AuditRow, pairAuditEvents } from './audit-rows';

type Filters = {
  appliance: string;
  actor: string;
  requestId: string;
  outcome: string;
  stage: string;
  since: string;
  until: string;
};
type Verify = components['schemas']['AuditVerifyResultDto'];

const EMPTY: Filters = { appliance: '', actor: '', requestId: '', outcome: '', stage: '', since: '', until: '' };
type Outcome = AuditEvent['finalOutcome'];
/** Every outcome the trail records, in words (the value is the API's). */
const OUTCOMES: Record<Outcome, string> = {
  accepted: 'accepted',
  denied: 'denied',
  rejected: 'rejected',
  failed: 'failed',
  unknown: 'unknown',
  replayed: 'replayed (a retry, answered again)',
  rate_limited: 'rate limited',
};

/** The audit trail: who ran what, where, with what outcome; the chain check and an NDJSON export. */
export function AuditPage() {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [events, setEvents] = useState<AuditEvent[] | undefined>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | undefined>();
  const [verify, setVerify] = useState<Verify | Problem | 'checking' | undefined>();

  const load = async (more: boolean) => {
    try {
      const { data, error, response } = await api.GET('/audit/events', {
        params: { query: { ...query(applied), ...(more && cursor ? { cursor } : {}) } },
      });
      if (!data) return setProblem(asProblem(error, response.status));
      // Asked for JSON (the default); the document also describes the NDJSON form of this route.
      const page = data as components['schemas']['AuditEventsPageDto'];
      setProblem(undefined);
      setEvents((previous) => (more ? [...(previous ?? []), ...page.items] : page.items));
      setCursor(page.nextCursor);
    } catch (failure) {
      setProblem(asProblem(failure));
    }
  };

  useEffect(() => {
    void load(false);
  }, [applied]);

  const verifyChain = async () => {
    setVerify('checking');
    try {
      const { data, error, response } = await api.GET('/audit/verify');
      setVerify(data ?? asProblem(error, response.status));
    } catch (failure) {
      setVerify(asProblem(failure));
    }
  };

  const exportNdjson = async () => {
    const params = new URLSearchParams(query(applied));
    const response = await fetch(`/audit/events?${params}`, {
      headers: { ...CONSOLE_HEADERS, Accept: 'application/x-ndjson' },
      credentials: 'same-origin',
    });
    if (!response.ok) return setProblem(asProblem(await response.json().catch(() => undefined), response.status));
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = `audit-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}.ndjson`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  const field = (name: keyof Filters, label: string, type: 'text' | 'datetime-local' = 'text') => {
    const common = {
      id: `audit-${name}`,
      value: filters[name],
      onInput: (event: { currentTarget: HTMLInputElement }) =>
        setFilters({ ...filters, [name]: event.currentTarget.value }),
    };
    return (
      <div class="field">
        <label for={common.id}>{label}</label>
        {type === 'text' ? <input type="text" {...common} /> : <input type="datetime-local" {...common} />}
      </div>
    );
  };

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit</h1>
      <search>
        <form
          class="filters"
          aria-label="Filter audit entries"
          onSubmit={(event) => {
            event.preventDefault();
            setApplied(filters);
          }}
        >
          {field('appliance', 'Appliance')}
          {field('actor', 'Actor (subject)')}
          {field('requestId', 'Request id')}
          <div class="field">
            <label for="audit-outcome">Outcome</label>
            <select
              id="audit-outcome"
              value={filters.outcome}
              onChange={(e) => setFilters({ ...filters, outcome: e.currentTarget.value })}
            >
              <option value="">Any</option>
              {Object.entries(OUTCOMES).map(([value, words]) => (
                <option key={value} value={value}>
                  {words}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="audit-stage">Stage</label>
            <select
              id="audit-stage"
              value={filters.stage}
              onChange={(e) => setFilters({ ...filters, stage: e.currentTarget.value })}
            >
              <option value="">Both</option>
              <option value="requested">requested</option>
              <option value="completed">completed</option>
            </select>
          </div>
          {field('since', 'Since', 'datetime-local')}
          {field('until', 'Until', 'datetime-local')}
          <button type="submit" class="primary">
            Apply filters
          </button>
        </form>
      </search>
      <div class="toolbar">
        <button type="button" class="secondary" onClick={() => void verifyChain()}>
          Verify chain
        </button>
        <button type="button" class="secondary" onClick={() => void exportNdjson()}>
          Export NDJSON
        </button>
        <span aria-live="polite" class="verify">
          {verify === 'checking' && 'Checking the chain…'}
          {verify &&
            verify !== 'checking' &&
            'ok' in verify &&
            (verify.ok ? (
              <span class="ok">Chain verified: {verify.count} entries intact.</span>
            ) : (
              <span class="bad">
                Chain broken at entry {showControls(verify.firstBad?.id ?? '')} (
                {verify.firstBad?.reason === 'hash' ? 'edited' : 'inserted or deleted around it'}).
              </span>
            ))}
        </span>
      </div>
      {verify && verify !== 'checking' && 'code' in verify && <ProblemMessage problem={verify} context="Verify" />}
      {problem && <ProblemMessage problem={problem} context="Audit" />}
      {events === undefined && !problem && <p aria-busy="true">Loading the audit trail…</p>}
      {events && (
        <TableRegion label="Audit entries">
          <table class="audit">
            <caption class="visually-hidden">
              Backup runs, newest first: each run's requested and completed entries
            </caption>
            <thead>
              <tr>
                <th scope="col">Requested</th>
                <th scope="col">Actor</th>
                <th scope="col">Appliance / schedule</th>
                <th scope="col">Outcome</th>
                <th scope="col">Completed</th>
                <th scope="col">Comment</th>
              </tr>
            </thead>
            <tbody>
              {pairAuditEvents(events).map((row) => (
                <AuditRowView key={row.key} row={row} />
              ))}
            </tbody>
          </table>
          {events.length === 0 && <p class="muted">No entries match.</p>}
          {cursor && (
            <button type="button" class="secondary" onClick={() => void load(true)}>
              Load older entries
            </button>
          )}
        </TableRegion>
      )}
    </section>
  );
}

/** What an entry about no one appliance (`*`) is about, by action; otherwise a refusal for any appliance. */
const ABOUT_NO_ONE_APPLIANCE: Partial<Record<AuditEvent['action'], string>> = {
  'auth.authenticate': 'sign-in, no appliance',
  'backup.fleet-run.cancel': 'cancel of the queued members',
};

/** Why a row has no `requested` entry: nothing was sent to an appliance, for the reason its outcome gives. */
const NOT_REQUESTED: Partial<Record<Outcome, string>> = {
  replayed: 'none (a retry: the stored answer was sent again, nothing was run)',
  rate_limited: 'none (refused by the rate limit)',
};

function AuditRowView({ row }: { row: AuditRow }) {
  const any = (row.completed ?? row.requested) as AuditEvent;
  const outcome = row.completed?.outcome ?? row.requested?.finalOutcome ?? 'unknown';
  const count = row.completed?.count;
  return (
    <tr data-request-id={any.requestId}>
      <td>
        {row.requested ? (
          <TimeText iso={row.requested.time} />
        ) : (
          <span class="muted">{NOT_REQUESTED[outcome] ?? 'none (refused)'}</span>
        )}
        <div class="muted wrap">request {showControls(any.requestId)}</div>
      </td>
      <td>
        {showControls(any.actor.name ?? any.actor.subject)}
        <div class="muted">
          {showControls(any.actor.subject)} · {showControls(any.actor.authMethod)}
        </div>
      </td>
      <td>
        {/* `*`: an entry about no one appliance (rate-limited runs, failed sign-ins, a fleet run's cancel). */}
        {any.appliance === '*' ? (
          <span>{ABOUT_NO_ONE_APPLIANCE[any.action] ?? 'any appliance'}</span>
        ) : (
          <>
            <a href={applianceHref(any.appliance)}>{showControls(any.appliance)}</a> / {showControls(any.schedule)}
          </>
        )}
        {any.fleetRequestId && <div class="muted">fleet run</div>}
      </td>
      <td>
        <span class={`outcome outcome-${outcome}`}>{OUTCOMES[outcome] ?? showControls(outcome)}</span>
        {row.completed && (
          <div class="muted">
            {row.completed.httpStatus}
            {row.completed.code ? ` ${showControls(row.completed.code)}` : ''}
            {row.completed.jobId ? ` · job ${showControls(row.completed.jobId)}` : ''}
          </div>
        )}
        {count != null && (
          <div class="muted">
            {count} {any.action === 'auth.authenticate' ? 'failed sign-ins' : 'requests refused'}
            {row.completed?.durationMs != null ? ` in ${Math.round(row.completed.durationMs / 1000)} s` : ''}
          </div>
        )}
        {row.completed?.replayOf && <div class="muted wrap">replays entry {showControls(row.completed.replayOf)}</div>}
        {!row.completed && outcome === 'unknown' && <div class="muted">no completion recorded</div>}
      </td>
      <td>{row.completed ? <TimeText iso={row.completed.time} /> : <span class="muted">—</span>}</td>
      <td class="wrap">{any.comment != null ? showControls(any.comment) : <span class="muted">—</span>}</td>
    </tr>
  );
}

/** Only the filters that are set; datetime-local (the user's time) becomes an ISO instant. */
function query(filters: Filters): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(filters)) {
    if (value === '') continue;
    out[name] = name === 'since' || name === 'until' ? new Date(value).toISOString() : value;
  }
  return out;
}
