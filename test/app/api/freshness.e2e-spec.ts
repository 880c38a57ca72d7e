/**
 * Backup freshness: "which appliance has not been backed up?" over real HTTP, from the appliances' own job lists.
 * The simulators' clock is moved back to leave jobs that ended hours ago, as a fleet's history would.
 */
import { BackupFreshness } from '../../../src/appliances/backup-freshness.service.js';
import { GatewayMetrics } from '../../../src/metrics/gateway-metrics.js';
import { API_KEY, APPLIANCE_PASSWORD, APPLIANCE_USER, startWorld, type World } from '../../support/fixture.js';
import { waitFor } from '../../support/wait-for.js';

const HOUR_S = 3600;
let offsetMs = 0;
let world: World;

beforeAll(async () => {
  world = await startWorld({
    applianceIds: ['vc-a', 'vc-b', 'vc-c'],
    simulatorOptions: { clock: () => Date.now() - offsetMs, jobDurationMs: 10 },
    extra: { freshness: { refreshMinutes: 60, maxAgeHours: 26 } },
  });
});
afterAll(() => world.stop());

const call = (path: string, init: RequestInit = {}) =>
  fetch(`${world.gateway.url}${path}`, { ...init, headers: { 'x-api-key': API_KEY, ...init.headers } });

async function fleet(): Promise<Record<string, { status: string; lastError: string | null; backup: Freshness }>> {
  const { items } = (await (await call('/appliances')).json()) as { items: { id: string; backup: Freshness }[] };
  return Object.fromEntries(items.map((item) => [item.id, item])) as never;
}

interface Freshness {
  lastSuccessAt: string | null;
  ageSeconds: number | null;
  stale: boolean | null;
  checkedAt: string | null;
}

/** A backup through the gateway, `hoursAgo` in the appliance's time, followed until it ends. */
async function backupThroughGateway(appliance: string, hoursAgo: number): Promise<void> {
  offsetMs = hoursAgo * HOUR_S * 1000;
  try {
    const run = await call(`/appliances/${appliance}/backups/schedules/default/run`, { method: 'POST' });
    expect(run.status).toBe(202);
    const { job } = (await run.json()) as { job: { id: string } };
    await waitFor(async () => {
      const read = await call(`/appliances/${appliance}/backups/jobs/${job.id}`);
      return ((await read.json()) as { job: { state: string } }).job.state === 'SUCCEEDED';
    });
  } finally {
    offsetMs = 0;
  }
}

describe('backup freshness', () => {
  it('reads every job list soon after start: appliances that report no backup are stale', async () => {
    await waitFor(async () => Object.values(await fleet()).every((a) => a.backup.checkedAt !== null));
    for (const appliance of Object.values(await fleet())) {
      expect(appliance.backup).toMatchObject({ lastSuccessAt: null, ageSeconds: null, stale: true });
    }
  });

  it('a backup the gateway sees succeed counts at once; older than maxAgeHours is stale; the metric says when', async () => {
    await backupThroughGateway('vc-b', 30);
    await backupThroughGateway('vc-a', 2);
    const { 'vc-a': a, 'vc-b': b } = await fleet();
    expect(a.backup.stale).toBe(false);
    expect(Math.abs((a.backup.ageSeconds ?? 0) - 2 * HOUR_S)).toBeLessThan(120);
    expect(b.backup.stale).toBe(true);
    expect(Math.abs((b.backup.ageSeconds ?? 0) - 30 * HOUR_S)).toBeLessThan(120);
    const metric = await world.gateway.app
      .get(GatewayMetrics)
      .registry.getSingleMetric('backup_gateway_last_successful_backup_timestamp_seconds')
      ?.get();
    const byAppliance = Object.fromEntries((metric?.values ?? []).map((v) => [v.labels.appliance, v.value]));
    expect(Object.keys(byAppliance).sort()).toEqual(['vc-a', 'vc-b']);
    expect(byAppliance['vc-a']).toBe(Date.parse(a.backup.lastSuccessAt ?? '') / 1000);
  });

  it('a backup started elsewhere (not through the gateway) is found in the job list on the next refresh', async () => {
    const sim = world.appliances['vc-c'];
    offsetMs = 3 * HOUR_S * 1000;
    try {
      const login = await fetch(`${sim.url}/api/session`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${APPLIANCE_USER}:${APPLIANCE_PASSWORD}`).toString('base64')}`,
        },
      });
      const session = (await login.json()) as string;
      const run = await fetch(`${sim.url}/api/appliance/recovery/backup/schedules/default?action=run`, {
        method: 'POST',
        headers: { 'vmware-api-session-id': session, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(run.ok).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      offsetMs = 0;
    }
    expect((await fleet())['vc-c'].backup.lastSuccessAt).toBeNull();
    await world.gateway.app.get(BackupFreshness).refreshAll();
    const { backup } = (await fleet())['vc-c'];
    expect(backup.stale).toBe(false);
    expect(Math.abs((backup.ageSeconds ?? 0) - 3 * HOUR_S)).toBeLessThan(120);
  });

  it("a caller's mistake the appliance answered (an unknown job) is not the appliance's last error", async () => {
    expect((await call('/appliances/vc-a/backups/jobs/20200101-000000-00000001')).status).toBe(404);
    expect((await fleet())['vc-a']).toMatchObject({ status: 'ok', lastError: null });
  });
});
