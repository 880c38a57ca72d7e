/**
 * The console's idle timeout in a real browser: a Fleet page left open refreshes itself every 15 s, and those reads
 * must not keep the session alive. A gateway of its own with the shortest idle timeout there is (one minute).
 *
 * Neither side waits that minute out. The page's clock is Playwright's (`page.clock`), moved 15 s at a time, which
 * fires the page's own refresh timer. The gateway runs in this jest worker, so its clock is Jest's fake `Date`
 * (nothing else of Node's is faked: its timers, sockets and `performance` run as usual), moved by the same 15 s
 * before each refresh. Each refresh is then a real request to the gateway, on its real session store, at the time
 * the session would have reached.
 */
import { jest } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { browserAvailable, launchBrowser } from '../../support/chromium.js';
import { type ConsoleWorld, LAB_API_KEY, startConsoleWorld } from '../../support/console/console-world.js';

const describeWithBrowser = browserAvailable('console idle-timeout browser test') ? describe : describe.skip;

/** The console's refresh period (console/src/components/use-refresh.ts). */
const REFRESH_MS = 15_000;

describeWithBrowser('operator console: idle timeout', () => {
  let world: ConsoleWorld;
  let browser: Browser;

  beforeAll(async () => {
    // Only Date is faked, and it keeps running with real time between the moves (advanceTimers).
    jest.useFakeTimers({
      advanceTimers: true,
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'requestAnimationFrame',
        'cancelAnimationFrame',
        'requestIdleCallback',
        'cancelIdleCallback',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
    [world, browser] = await Promise.all([startConsoleWorld({ console: { sessionIdleMinutes: 1 } }), launchBrowser()]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
    jest.useRealTimers();
  });

  /** Moves both clocks by one refresh period; resolves with the status of the refresh this fires. */
  async function oneRefreshLater(page: Page): Promise<number> {
    const refreshed = page.waitForResponse((response) => response.url().endsWith('/appliances'));
    jest.setSystemTime(Date.now() + REFRESH_MS);
    await page.clock.runFor(REFRESH_MS);
    return (await refreshed).status();
  }

  it("the Fleet page's background refresh does not keep an unused session alive: it ends after its idle minute", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.clock.install();
    const refreshes: string[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/appliances')) refreshes.push(request.headers()['x-console-request']);
    });
    await page.goto(`${world.gateway.url}/console/`);
    await page.getByLabel('API key').fill(LAB_API_KEY);
    await page.getByRole('button', { name: 'Sign in with API key' }).click();
    await page.getByRole('row', { name: /vCenter A/ }).waitFor();
    const signedInAt = Date.now();

    // Nobody touches the page. The refreshes at 15, 30 and 45 s use the session without extending it...
    for (let i = 0; i < 3; i++) expect(await oneRefreshLater(page)).toBe(200);
    await page.getByRole('row', { name: /vCenter A/ }).waitFor();
    // ...so the one at 60 s finds it idle for its minute: ended, and the console says so.
    expect(await oneRefreshLater(page)).toBe(401);
    await page.getByRole('heading', { name: 'Sign in to Backup Gateway' }).waitFor({ timeout: 10_000 });
    expect(Date.now() - signedInAt).toBeGreaterThanOrEqual(60_000);
    expect(await page.getByRole('status').textContent()).toMatch(/Your session has ended/);
    // The first read was the page's own (the user's arrival); the timed ones said they were background reads.
    expect(refreshes[0]).toBe('1');
    expect(refreshes.slice(1)).toEqual(['background', 'background', 'background', 'background']);
    await context.close();
  }, 60_000);
});
