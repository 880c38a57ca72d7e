/**
 * The console's idle timeout in a real browser: a Fleet page left open refreshes itself every 15 s, and those reads
 * must not keep the session alive. A gateway of its own with the shortest idle timeout there is (one minute), so the
 * test waits one real minute: the session's clock is the gateway's, which a browser clock cannot move.
 */
import type { Browser } from 'playwright-core';
import { browserAvailable, launchBrowser } from '../../support/chromium.js';
import { type ConsoleWorld, LAB_API_KEY, startConsoleWorld } from '../../support/console/console-world.js';

const describeWithBrowser = browserAvailable('console idle-timeout browser test') ? describe : describe.skip;

describeWithBrowser('operator console: idle timeout', () => {
  let world: ConsoleWorld;
  let browser: Browser;

  beforeAll(async () => {
    [world, browser] = await Promise.all([startConsoleWorld({ console: { sessionIdleMinutes: 1 } }), launchBrowser()]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  it("the Fleet page's background refresh does not keep an unused session alive: it ends after its idle minute", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const refreshes: string[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/appliances')) refreshes.push(request.headers()['x-console-request']);
    });
    await page.goto(`${world.gateway.url}/console/`);
    await page.getByLabel('API key').fill(LAB_API_KEY);
    await page.getByRole('button', { name: 'Sign in with API key' }).click();
    await page.getByRole('row', { name: /vCenter A/ }).waitFor();
    const signedInAt = Date.now();

    // Nobody touches the page. The refreshes at 15, 30 and 45 s use the session without extending it; the first
    // after the idle minute finds it ended, and the console says so.
    await page.getByRole('heading', { name: 'Sign in to Backup Gateway' }).waitFor({ timeout: 85_000 });
    expect(Date.now() - signedInAt).toBeGreaterThanOrEqual(58_000);
    expect(await page.getByRole('status').textContent()).toMatch(/Your session has ended/);
    // The first read was the page's own (the user's arrival); the timed ones said they were background reads.
    expect(refreshes[0]).toBe('1');
    expect(refreshes.slice(1).length).toBeGreaterThanOrEqual(3);
    expect(new Set(refreshes.slice(1))).toEqual(new Set(['background']));
    await context.close();
  }, 120_000);
});
