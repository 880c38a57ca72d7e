/**
 * A fleet run in waves in the console, in a real browser (Debian's Chromium): the gateway runs one backup at a time on
 * a backup target, the simulated appliances' jobs run until the test ends them (finishRunningJobs), so what the page
 * shows while members wait and run is seen for sure, through a reload, to the end; and queued members are cancelled.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserAvailable, launchBrowser } from '../../support/chromium.js';
import { expectAccessible, expectFitsPhone, newContext, PHONES, signIn } from '../../support/console/console-page.js';
import { type ConsoleWorld, startConsoleWorld } from '../../support/console/console-world.js';

/** Both simulators report the schedule location sftp://backup.example.test/vcsa: one target, its port implied. */
const TARGET = 'sftp://backup.example.test:22';
const FLEET_RUN_HASH = /#\/fleet-runs\/[0-9a-f-]{36}$/;

const describeWithBrowser = browserAvailable('console fleet-run browser tests') ? describe : describe.skip;

describeWithBrowser('operator console: a fleet run in waves', () => {
  let world: ConsoleWorld;
  let browser: Browser;
  let alice: BrowserContext;

  beforeAll(async () => {
    [world, browser] = await Promise.all([
      startConsoleWorld({
        // Jobs end only when the test says so.
        jobDurationMs: 600_000,
        extra: { fleet: { probeTimeoutMs: 500, perTargetConcurrency: 1 } },
      }),
      launchBrowser(),
    ]);
    alice = await newContext(browser);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  /** Picks appliances on the Fleet run page, confirms, and lands on the fleet run's own page. */
  async function startFleetRun(page: Page, appliances: string[]): Promise<string> {
    await page.goto(`${world.gateway.url}/console/#/fleet-run`);
    await page.getByLabel('Pick appliances').check();
    for (const id of appliances) await page.getByRole('checkbox', { name: new RegExp(id) }).check();
    await page.getByRole('button', { name: `Run on ${appliances.length} appliances` }).click();
    await page.getByRole('button', { name: 'Start backups' }).click();
    await page.waitForURL(FLEET_RUN_HASH);
    return new URL(page.url()).hash;
  }

  function member(page: Page, target: string, appliance: string) {
    return page.getByRole('region', { name: `Backup target ${target}` }).locator(`[data-appliance="${appliance}"]`);
  }

  it('members wait and run by target, a reload shows the same run, and finished jobs show succeeded', async () => {
    await signIn(await alice.newPage(), world, 'alice');
    const page = await alice.newPage();
    const hash = await startFleetRun(page, ['vc-a', 'vc-b']);
    const [a, b] = [member(page, TARGET, 'vc-a'), member(page, TARGET, 'vc-b')];
    await a.getByText('Running', { exact: true }).waitFor();
    await b.getByText('Queued', { exact: true }).waitFor();
    expect(await a.getByRole('link', { name: 'vc-a' }).getAttribute('href')).toBe('#/appliances/vc-a');
    await expectAccessible(page);

    await page.reload();
    expect(new URL(page.url()).hash).toBe(hash);
    await a.getByText('Running', { exact: true }).waitFor();
    await b.getByText('Queued', { exact: true }).waitFor();
    expect(world.appliances['vc-b'].counters.jobsStarted).toBe(0);
    await page.getByRole('button', { name: 'Cancel 1 queued backup' }).waitFor();

    // Bob may read every member (backups:read) but run none: the same run, and no Cancel.
    const bob = await newContext(browser);
    const bobs = await bob.newPage();
    await signIn(bobs, world, 'bob');
    await bobs.goto(`${world.gateway.url}/console/${hash}`);
    await member(bobs, TARGET, 'vc-b').getByText('Queued', { exact: true }).waitFor();
    expect(await bobs.getByRole('button', { name: /queued backup/ }).count()).toBe(0);
    await bob.close();

    expect(world.appliances['vc-a'].finishRunningJobs()).toBe(1);
    await a.getByText('Succeeded', { exact: true }).waitFor({ timeout: 15_000 });
    await b.getByText('Running', { exact: true }).waitFor({ timeout: 15_000 });
    for (const size of PHONES) {
      await page.setViewportSize(size);
      await expectFitsPhone(page);
    }
    expect(world.appliances['vc-b'].finishRunningJobs()).toBe(1);
    await b.getByText('Succeeded', { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByText('Completed', { exact: true }).waitFor();
    await expectAccessible(page);
    await page.close();
  });

  it('queued members are cancelled after a confirmation; the running one goes on to its end', async () => {
    const page = await alice.newPage();
    await startFleetRun(page, ['vc-a', 'vc-b']);
    const [a, b] = [member(page, TARGET, 'vc-a'), member(page, TARGET, 'vc-b')];
    await b.getByText('Queued', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Cancel 1 queued backup' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel 1 queued backup?' });
    await dialog.getByText(/vc-b will not start/).waitFor();
    await expectAccessible(page);
    // Not without the confirmation: closing the dialog cancels nothing.
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await b.getByText('Queued', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Cancel 1 queued backup' }).click();
    await dialog.getByRole('button', { name: 'Cancel queued backups' }).click();
    await b.getByText('Cancelled', { exact: true }).waitFor();
    await page.getByText(/^Cancelled \(backups already running/).waitFor();
    expect(await page.getByRole('button', { name: /queued backup/ }).count()).toBe(0);
    await a.getByText('Running', { exact: true }).waitFor();
    expect(world.appliances['vc-a'].finishRunningJobs()).toBe(1);
    await a.getByText('Succeeded', { exact: true }).waitFor({ timeout: 15_000 });
    expect(world.appliances['vc-b'].counters.jobsStarted).toBe(1); // the first test's only
    await page.close();
  });
});
