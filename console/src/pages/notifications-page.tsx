import { useState } from 'preact/hooks';
import { api, asProblem, BACKGROUND_HEADERS, type Problem } from '../api/client';
import { ageWords } from '../components/backup-age';
import { ProblemMessage } from '../components/problem-message';
import { TableRegion } from '../components/table-region';
import { TimeText } from '../components/time-text';
import { useRefresh } from '../components/use-refresh';
import { applianceHref } from '../router';
import { showControls } from '../visible-controls';
import {
  type Delivery,
  type DeliveryList,
  eventWords,
  failingDeliveries,
  namesAppliance,
  type WebhookHealth,
  webhookHealth,
} from './webhook-health';

/** As the Fleet page: read again while open, as background reads that do not keep the session alive. */
const PAGE = 500;
/** Rows read per state at most: past it, counts say "at least" rather than the page reading a day's backlog. */
const CAP = 2_000;

type State = 'pending' | 'failed';

/** Reads one state's deliveries, newest first, page after page up to CAP. */
async function readAll(state: State, background: boolean): Promise<DeliveryList> {
  const items: Delivery[] = [];
  let cursor: string | undefined;
  while (items.length < CAP) {
    const { data, error, response } = await api.GET('/notifications/deliveries', {
      params: { query: { state, limit: PAGE, ...(cursor ? { cursor } : {}) } },
      ...(background ? { headers: BACKGROUND_HEADERS } : {}),
    });
    if (!data) throw asProblem(error, response.status);
    items.push(...data.items);
    if (data.nextCursor === null) return { items, complete: true };
    cursor = data.nextCursor;
  }
  return { items, complete: false };
}

/**
 * Which webhook endpoints are not taking the gateway's notifications, and the deliveries that did not get through.
 * Never a webhook's URL or secret: the API does not give them out; webhooks are named by their configured id.
 */
export function NotificationsPage() {
  const [lists, setLists] = useState<{ pending: DeliveryList; failed: DeliveryList; readAt: number } | undefined>();
  const [problem, setProblem] = useState<Problem | undefined>();
  const [webhook, setWebhook] = useState('');

  const load = async (background = false) => {
    try {
      const [pending, failed] = await Promise.all([readAll('pending', background), readAll('failed', background)]);
      setLists({ pending, failed, readAt: Date.now() });
      setProblem(undefined);
    } catch (failure) {
      setProblem(asProblem(failure));
    }
  };

  useRefresh(load);

  const health = lists ? webhookHealth(lists.pending, lists.failed) : [];
  const failing = lists ? failingDeliveries(lists.pending, lists.failed) : [];
  const shown = failing.filter((d) => webhook === '' || d.webhook === webhook);
  return (
    <section aria-labelledby="notifications-title">
      <h1 id="notifications-title">Notifications</h1>
      <p class="muted">
        Webhooks with notifications not yet delivered, by their configured id. Failed attempts are retried for 24 h,
        then given up on.
      </p>
      <div class="toolbar">
        <button type="button" class="secondary" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {problem && <ProblemMessage problem={problem} context="Notifications" />}
      {lists === undefined && !problem && <p aria-busy="true">Loading deliveries…</p>}
      {lists && (
        <>
          <h2 id="webhooks-title">Webhooks</h2>
          {health.length === 0 ? (
            <p class="ok">Every webhook has taken every notification: nothing is waiting or given up on.</p>
          ) : (
            <TableRegion label="Webhooks">
              <table aria-labelledby="webhooks-title">
                <thead>
                  <tr>
                    <th scope="col">Webhook</th>
                    <th scope="col">State</th>
                    <th scope="col">Pending</th>
                    <th scope="col">Given up</th>
                    <th scope="col">Oldest pending</th>
                    <th scope="col">Last error</th>
                  </tr>
                </thead>
                <tbody>
                  {health.map((h) => (
                    <WebhookRow key={h.webhook} health={h} now={lists.readAt} />
                  ))}
                </tbody>
              </table>
            </TableRegion>
          )}
          <h2 id="failing-title">Deliveries not delivered</h2>
          <search class="filters" aria-label="Filter deliveries">
            <div class="field">
              <label for="notifications-webhook">Webhook</label>
              <select id="notifications-webhook" value={webhook} onChange={(e) => setWebhook(e.currentTarget.value)}>
                <option value="">Any webhook</option>
                {health.map((h) => (
                  <option key={h.webhook} value={h.webhook}>
                    {h.webhook}
                  </option>
                ))}
              </select>
            </div>
          </search>
          <TableRegion label="Deliveries not delivered">
            <table aria-labelledby="failing-title">
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Appliance</th>
                  <th scope="col">Webhook</th>
                  <th scope="col">State</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Recorded</th>
                  <th scope="col">Next attempt</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((d) => (
                  <DeliveryRow key={d.id} delivery={d} />
                ))}
              </tbody>
            </table>
            {shown.length === 0 && <p class="muted">No delivery has failed.</p>}
          </TableRegion>
        </>
      )}
    </section>
  );
}

function WebhookRow({ health, now }: { health: WebhookHealth; now: number }) {
  const atLeast = health.complete ? '' : 'at least ';
  const oldest = health.oldestPendingAt;
  return (
    <tr data-webhook={health.webhook}>
      <th scope="row">
        <code>{showControls(health.webhook)}</code>
      </th>
      <td>
        {health.retrying > 0 ? (
          <span class="bad">Failing</span>
        ) : health.failed > 0 ? (
          <span class="bad">Gave up on some</span>
        ) : (
          <span class="muted">Waiting, not tried yet</span>
        )}
      </td>
      <td>
        <span class="count">
          {atLeast}
          {health.pending}
        </span>
        {health.retrying > 0 && <div class="muted">{health.retrying} retrying after an error</div>}
      </td>
      <td>
        <span class="count">
          {atLeast}
          {health.failed}
        </span>
      </td>
      <td>
        {oldest === null ? (
          <span class="muted">—</span>
        ) : (
          <>
            {ageWords(Math.max(0, (now - Date.parse(oldest)) / 1000))}
            {health.complete ? '' : ' or more'}
            <div class="muted">
              <TimeText iso={oldest} />
            </div>
          </>
        )}
      </td>
      <td class="wrap">
        {health.lastError ? <code>{showControls(health.lastError.text)}</code> : <span class="muted">—</span>}
      </td>
    </tr>
  );
}

function DeliveryRow({ delivery: d }: { delivery: Delivery }) {
  return (
    <tr data-delivery={d.id}>
      <td>
        {eventWords(d.type)}
        <div class="muted wrap">{showControls(d.id)}</div>
      </td>
      <td>
        {namesAppliance(d.type) ? (
          <a href={applianceHref(d.subject)}>{showControls(d.subject)}</a>
        ) : (
          <>
            fleet run <code>{showControls(d.subject)}</code>
          </>
        )}
      </td>
      <td>
        <code>{showControls(d.webhook)}</code>
      </td>
      <td>{d.state === 'failed' ? <span class="bad">Given up</span> : <span class="warn">Retrying</span>}</td>
      <td>{d.attempts}</td>
      <td class="wrap">{d.lastError ? <code>{showControls(d.lastError)}</code> : <span class="muted">—</span>}</td>
      <td>
        <TimeText iso={d.createdAt} />
      </td>
      <td>{d.state === 'pending' ? <TimeText iso={d.nextAttemptAt} /> : <span class="muted">none</span>}</td>
    </tr>
  );
}
