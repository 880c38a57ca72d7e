/**
 * The console's Notifications page in a real browser (Debian's Chromium): the gateway sends job-end notifications to
 * two real webhook receivers on loopback, which verify every signature; one of them fails every delivery on purpose
 * (500). The operator sees which endpoint is failing, its deliveries, and never a URL or a secret.
 */
import type { Browser, Page } from 'playwright-core';
import { browserAvailable, launchBrowser } from '../../support/chromium.js';
import { expectAccessible, expectFitsPhone, newContext, PHONES, signIn } from '../../support/console/console-page.js';
import { type ConsoleWorld, LAB_API_KEY, startConsoleWorld } from '../../support/console/console-world.js';
import { waitFor } from '../../support/wait-for.js';
import { WebhookReceiver } from '../../support/webhook-receiver.js';

/** As in console.browser.e2e-spec.ts: written only when asked, so that tests leave the tree clean. */
const shotPath = (name: string) => (process.env.UPDATE_SCREENSHOTS === '1' ? `docs/screenshots/${name}` : undefined);

const describeWithBrowser = browserAvailable('console notifications browser tests') ? describe : describe.skip;

describeWithBrowser('operator console: failing webhooks', () => {
  let world: ConsoleWorld;
  let browser: Browser;
  let portal: WebhookReceiver;
  /** Answers 500 to every delivery: an endpoint that is down. */
  let chatOps: WebhookReceiver;

  beforeAll(async () => {
    portal = await new WebhookReceiver().start();
    chatOps = await new WebhookReceiver().start();
    chatOps.failWith = 500;
    [world, browser] = await Promise.all([
      startConsoleWorld({
        jobDurationMs: 300,
        env: { PORTAL_SECRET: portal.secret, CHAT_OPS_SECRET: chatOps.secret },
        extra: {
          notifications: {
            webhooks: [
              { id: 'portal', url: portal.url, secret: '${PORTAL_SECRET}' },
              { id: 'chat-ops', url: chatOps.url, secret: '${CHAT_OPS_SECRET}' },
            ],
          },
        },
      }),
      launchBrowser(),
    ]);
    // A backup through the API: accepted, then (nobody watching) its job's end, each to both webhooks.
    const run = await fetch(`${world.gateway.url}/appliances/vc-a/backups/schedules/default/run`, {
      method: 'POST',
      headers: { 'x-api-key': LAB_API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ comment: 'notified' }),
    });
    expect(run.status).toBe(202);
    await waitFor(
      () =>
        portal.of('com.backupgateway.job.succeeded').length === 1 &&
        chatOps.of('com.backupgateway.job.succeeded').length >= 1 &&
        chatOps.of('com.backupgateway.run.accepted').length >= 1,
      15_000,
    );
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
    await portal?.stop();
    await chatOps?.stop();
  });

  it('an operator with audit:read finds the failing endpoint from the navigation: counts, last error, oldest pending', async () => {
    // The receiver's refusals were of signed, verified deliveries: it failed them on purpose.
    expect(chatOps.deliveries.every((d) => d.verified && d.status === 500)).toBe(true);
    const context = await newContext(browser, { timezoneId: 'Asia/Kolkata', locale: 'en-GB' });
    const page = await context.newPage();
    await signIn(page, world, 'alice');
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Notifications' }).click();
    await page.getByRole('heading', { name: 'Notifications', exact: true }).waitFor();
    expect(new URL(page.url()).hash).toBe('#/notifications');

    const failing = page.locator('tr[data-webhook="chat-ops"]');
    await failing.waitFor();
    const cells = failing.locator('td');
    expect(await cells.nth(0).textContent()).toBe('Failing');
    // Pending: the accepted run and the job's end, both tried and refused.
    expect(await cells.nth(1).locator('.count').textContent()).toBe('2');
    expect(await cells.nth(1).locator('.muted').textContent()).toBe('2 retrying after an error');
    expect(await cells.nth(2).locator('.count').textContent()).toBe('0');
    expect(await cells.nth(4).textContent()).toBe('the receiver answered 500');
    // The oldest pending message is the accepted run's, as the API lists it.
    const listed = (await apiFromPage(page, '/notifications/deliveries?webhook=chat-ops&state=pending')) as {
      items: { type: string; createdAt: string }[];
    };
    const accepted = listed.items.find((item) => item.type === 'com.backupgateway.run.accepted');
    expect(await cells.nth(3).locator('time').getAttribute('datetime')).toBe(accepted?.createdAt);
    expect(await cells.nth(3).textContent()).toMatch(/^1 min/);
    // The healthy endpoint took everything: it is not listed.
    expect(await page.locator('tr[data-webhook="portal"]').count()).toBe(0);

    const rows = page.locator('tr[data-delivery]');
    expect(await rows.count()).toBe(2);
    const texts = await rows.allTextContents();
    expect(texts.some((text) => text.startsWith('Job succeeded'))).toBe(true);
    expect(texts.some((text) => text.startsWith('Run accepted'))).toBe(true);
    for (const row of await rows.all()) {
      const text = (await row.textContent()) as string;
      for (const expected of ['vc-a', 'chat-ops', 'Retrying', 'the receiver answered 500', 'GMT+5:30']) {
        expect(text).toContain(expected);
      }
      expect(Number(await row.locator('td').nth(4).textContent())).toBeGreaterThanOrEqual(1);
      expect(await row.getByRole('link', { name: 'vc-a' }).getAttribute('href')).toBe('#/appliances/vc-a');
    }

    // Never where a webhook is, nor what signs its deliveries.
    const html = await page.content();
    for (const secret of [portal.url, chatOps.url, portal.secret, chatOps.secret, chatOps.secret.slice(6)]) {
      expect(html).not.toContain(secret);
    }
    await expectAccessible(page);
    await page.screenshot({ path: shotPath('notifications.png'), fullPage: true });

    for (const size of PHONES) {
      await page.setViewportSize(size);
      await page.locator('tr[data-webhook="chat-ops"]').waitFor();
      await expectFitsPhone(page);
    }
    await context.close();
  });

  it('a user without audit:read has no Notifications link; opening the page anyway explains the 403', async () => {
    const bob = await newContext(browser);
    const page = await bob.newPage();
    await signIn(page, world, 'bob');
    expect(await page.getByRole('link', { name: 'Notifications' }).count()).toBe(0);
    await page.goto(`${world.gateway.url}/console/#/notifications`);
    const problem = page.getByRole('alert');
    await problem.waitFor();
    expect(await problem.textContent()).toMatch(/Notifications: Missing scope \(403\)[\s\S]*audit:read/);
    expect(await page.locator('tr[data-webhook]').count()).toBe(0);
    await bob.close();
  });
});

/** An API call from the console page itself, as the console makes it (session cookie and console header). */
function apiFromPage(page: Page, path: string): Promise<unknown> {
  return page.evaluate(
    (target) => fetch(target, { headers: { 'x-console-request': '1' } }).then((response) => response.json()),
    path,
  );
}
