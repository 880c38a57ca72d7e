import { useState } from 'preact/hooks';
import { type Appliance, api, asProblem, BACKGROUND_HEADERS, type Problem } from '../api/client';
import { BackupAge, staleFirst } from '../components/backup-age';
import { ProblemMessage } from '../components/problem-message';
import { APPLIANCE_STATUSES, StatusBadge, statusLabel } from '../components/status-badge';
import { TableRegion } from '../components/table-region';
import { TimeText } from '../components/time-text';
import { useRefresh } from '../components/use-refresh';
import { applianceHref } from '../router';

/** How often the fleet's live status is read again while the page is open. */

/** Every appliance the user may read, with its live status, filtered by tag and status. */
export function FleetPage() {
  const [appliances, setAppliances] = useState<Appliance[] | undefined>();
  const [problem, setProblem] = useState<Problem | undefined>();
  const [tag, setTag] = useState('');
  const [status, setStatus] = useState('');

  /** background: the timed refresh, which the gateway does not count as the user's activity. */
  const load = async (background = false) => {
    try {
      const { data, error, response } = await api.GET('/appliances', background ? { headers: BACKGROUND_HEADERS } : {});
      if (data) {
        setAppliances(data.items);
        setProblem(undefined);
      } else setProblem(asProblem(error, response.status));
    } catch (failure) {
      setProblem(asProblem(failure));
    }
  };

  useRefresh(load);

  const tags = [...new Set((appliances ?? []).flatMap((a) => a.tags))].sort();
  const shown = staleFirst(appliances ?? []).filter(
    (a) => (tag === '' || a.tags.includes(tag)) && (status === '' || a.status === status),
  );
  return (
    <section aria-labelledby="fleet-title">
      <h1 id="fleet-title">Fleet</h1>
      <search class="filters" aria-label="Filter appliances">
        <div class="field">
          <label for="fleet-tag">Tag</label>
          <select id="fleet-tag" value={tag} onChange={(event) => setTag(event.currentTarget.value)}>
            <option value="">Any tag</option>
            {tags.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="fleet-status">Status</label>
          <select id="fleet-status" value={status} onChange={(event) => setStatus(event.currentTarget.value)}>
            <option value="">Any status</option>
            {APPLIANCE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {statusLabel(s)}
              </option>
            ))}
          </select>
        </div>
        <button type="button" class="secondary" onClick={() => void load()}>
          Refresh
        </button>
      </search>
      {problem && <ProblemMessage problem={problem} context="Appliances" />}
      {appliances === undefined && !problem && <p aria-busy="true">Loading appliances…</p>}
      {appliances && (
        <TableRegion label="Appliances">
          <table>
            <caption class="visually-hidden">
              Appliances ({shown.length} of {appliances.length} shown)
            </caption>
            <thead>
              <tr>
                <th scope="col">Appliance</th>
                <th scope="col">Status</th>
                <th scope="col">Last backup</th>
                <th scope="col">Tags</th>
                <th scope="col">Last check</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((appliance) => (
                <tr key={appliance.id}>
                  <th scope="row">
                    <a href={applianceHref(appliance.id)}>{appliance.name}</a>
                    <div class="muted">
                      <code>{appliance.id}</code>
                    </div>
                  </th>
                  <td>
                    <StatusBadge status={appliance.status} />
                  </td>
                  <td>
                    <BackupAge backup={appliance.backup} />
                  </td>
                  <td>
                    {appliance.tags.map((t) => (
                      <span key={t} class="tag">
                        {t}
                      </span>
                    ))}
                  </td>
                  <td>
                    <TimeText iso={appliance.lastCheckedAt} />
                  </td>
                  <td>{appliance.lastError ? <code>{appliance.lastError}</code> : <span class="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {shown.length === 0 && <p class="muted">No appliance matches these filters.</p>}
        </TableRegion>
      )}
    </section>
  );
}
