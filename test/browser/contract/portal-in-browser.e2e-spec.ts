/**
 * Portals in a real browser (headless Chromium): a page from an allowed origin runs a backup and reads its job with
 * fetch and a bearer token; a page from another origin is stopped by the browser's CORS check before anything runs;
 * Swagger UI at /docs loads under its CSP without a console error, takes a token through "Authorize" and runs both
 * single-run routes with an empty body.
 */
import type { Page } from 'playwright-core';
import { RUN_AND_READ, startWorld, type World } from '../../support/fixture.js';
import { type Browser, launchChromium, servePortalPage, watchErrors } from '../../support/headless-chromium.js';

let browser: Browser;
let portal: Awaited<ReturnType<typeof servePortalPage>>;
let elsewhere: Awaited<ReturnType<typeof servePortalPage>>;
let world: World;

beforeAll(async () => {
  [browser, portal, elsewhere] = await Promise.all([launchChromium(), servePortalPage(), servePortalPage()]);
  // Each run below has an appliance of its own (a second run on one would meet the first's job: 409).
  world = await startWorld({
    applianceIds: ['vc-a', 'vc-b', 'vc-c'],
    defaultAppliance: 'vc-c',
    extra: { cors: { origins: [portal.origin] } },
  });
}, 60_000);
afterAll(async () => {
  await Promise.all([browser?.close(), portal?.close(), elsewhere?.close(), world?.stop()]);
});

function runsReceived(): number {
  return Object.values(world.appliances)
    .flatMap((appliance) => appliance.requests)
    .filter((r) => r.path.includes('action=run')).length;
}

/** Runs the default schedule on vc-a from the page, as a portal's script would, then reads the job at Location. */
function runFromPage(page: Page, gateway: string, token: string) {
  return page.evaluate(
    async ({ gateway, token }) => {
      try {
        const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
        const run = await fetch(`${gateway}/appliances/vc-a/backups/schedules/default/run`, {
          method: 'POST',
          headers: { ...headers, 'idempotency-key': crypto.randomUUID() },
          body: JSON.stringify({ comment: 'from a portal page' }),
        });
        const location = run.headers.get('location');
        const requestId = run.headers.get('x-request-id');
        const accepted = await run.json();
        const job = location ? await fetch(`${gateway}${location}`, { headers }) : undefined;
        return {
          status: run.status,
          location,
          requestId,
          accepted,
          jobStatus: job?.status,
          job: await job?.json(),
        };
      } catch (error) {
        return { failed: String(error) };
      }
    },
    { gateway, token },
  );
}

describe('a portal page in Chromium', () => {
  it('from an allowed origin: runs a backup and reads its job through fetch with a bearer token', async () => {
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    await page.goto(portal.origin);
    const result = await runFromPage(page, world.gateway.url, await world.idp.token(RUN_AND_READ));
    expect(result).toMatchObject({
      status: 202,
      location: expect.stringMatching(/^\/appliances\/vc-a\/backups\/jobs\/.+/),
      requestId: expect.any(String), // readable only because it is exposed
      accepted: { appliance: 'vc-a', schedule: 'default', job: { state: 'INPROGRESS' } },
      jobStatus: 200,
      job: { appliance: 'vc-a', job: { id: expect.any(String) } },
    });
    expect(errors).toEqual([]);
    expect(runsReceived()).toBe(1);
    await page.close();
  });

  it('from another origin: the browser blocks the call (CORS) and nothing starts at the appliance', async () => {
    const before = runsReceived();
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    await page.goto(elsewhere.origin);
    const result = await runFromPage(page, world.gateway.url, await world.idp.token(RUN_AND_READ));
    expect(result).toEqual({ failed: 'TypeError: Failed to fetch' });
    expect(errors.join('\n')).toMatch(/blocked by CORS policy/);
    expect(runsReceived()).toBe(before);
    await page.close();
  });
});

describe('Swagger UI at /docs in Chromium', () => {
  it('loads without console errors or CSP violations, authorizes with a token, and runs both run routes with an empty body', async () => {
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${world.gateway.url}/docs`);
    await page.locator('#operations-backups-runSchedule').waitFor();

    await page.locator('button.authorize').first().click();
    const jwt = page.locator('.auth-container').filter({ hasText: 'jwt' });
    await jwt.locator('input').fill(await world.idp.token(RUN_AND_READ));
    await jwt.getByRole('button', { name: 'Apply credentials' }).click();
    await jwt.getByRole('button', { name: 'Close', exact: true }).click();

    const before = runsReceived();
    for (const [operationId, path] of [
      ['runSchedule', { applianceId: 'vc-b', scheduleId: 'default' }],
      ['runScheduleOnDefaultAppliance', { scheduleId: 'default' }],
    ] as const) {
      const operation = page.locator(`#operations-backups-${operationId}`);
      await operation.locator('.opblock-summary').click();
      await operation.getByRole('button', { name: 'Try it out' }).click();
      for (const [name, value] of Object.entries(path)) {
        await operation.locator(`tr[data-param-name="${name}"] input`).fill(value);
      }
      await operation.locator('textarea.body-param__text').fill('');
      await operation.getByRole('button', { name: 'Execute' }).click();
      const status = operation.locator('.live-responses-table tbody .response-col_status');
      await status.waitFor();
      expect([operationId, (await status.textContent())?.trim()]).toEqual([operationId, '202']);
    }
    expect(runsReceived()).toBe(before + 2);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000); // ~10 s alone; Swagger UI's 1.5 MB bundle is slow to start on a busy machine
});
