/**
 * The operator console in a real browser (Debian's Chromium), against the in-process gateway over real HTTP, the
 * appliance simulator and a real OpenID provider. One browser for the file; one context (cookie jar) per user.
 * Screenshots of each page go to docs/screenshots/ for the README. The tests run in order: Alice's session carries
 * from sign-in through a run and its audit entries to logout.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { AuditRecorder } from '../../../src/audit/audit-recorder.js';
import { browserAvailable, launchBrowser } from '../../support/chromium.js';
import {
  expectAccessible,
  expectFitsPhone,
  newContext,
  overflowsHorizontally,
  PHONES,
  signIn,
} from '../../support/console/console-page.js';
import { type ConsoleWorld, LAB_API_KEY, startConsoleWorld, USERS } from '../../support/console/console-world.js';

const SCREENSHOTS = 'docs/screenshots';
/**
 * The README's screenshots are tracked files: a test run takes every screenshot (a page that cannot render fails it)
 * but writes them only when asked (`UPDATE_SCREENSHOTS=1 npm test -- test/browser/console`), so tests leave the tree clean.
 */
const shotPath = (name: string) => (process.env.UPDATE_SCREENSHOTS === '1' ? `${SCREENSHOTS}/${name}` : undefined);
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Alice's browser is in India (UTC+05:30, no daylight saving): a time shown in UTC or without its zone shows. */
const OPERATOR_ZONE = { timezoneId: 'Asia/Kolkata', locale: 'en-GB' };

const describeWithBrowser = browserAvailable('console browser tests') ? describe : describe.skip;

describeWithBrowser('operator console in a browser', () => {
  let world: ConsoleWorld;
  let browser: Browser;
  let alice: BrowserContext;
  let attacker: http.Server;
  let attackerPort: number;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    [world, browser] = await Promise.all([startConsoleWorld(), launchBrowser()]);
    alice = await newContext(browser, OPERATOR_ZONE);
    // Another origin: at 127.0.0.1 (same site as the gateway, other port) and at localhost (another site).
    attacker = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title><p>hi</p>');
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerPort = (attacker.address() as AddressInfo).port;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => attacker?.close(resolve));
    await world?.stop();
  });

  it('an operator signs in through the OpenID provider and sees the fleet with live status, filterable', async () => {
    const page = await alice.newPage();
    await signIn(page, world, 'alice');
    const rows = page.locator('tbody tr');
    await page
      .getByRole('row', { name: /vCenter A/ })
      .getByText('OK')
      .waitFor();
    await page
      .getByRole('row', { name: /vCenter C/ })
      .getByText('Unreachable')
      .waitFor();
    expect(await rows.count()).toBe(3);
    expect(await page.getByText('Alice Operator').isVisible()).toBe(true);
    await page.getByLabel('Tag').selectOption('lab');
    expect(await rows.count()).toBe(2);
    await page.getByLabel('Status').selectOption('unreachable');
    expect(await rows.count()).toBe(1);
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Tag').selectOption('');
    await expectAccessible(page);
    await page.screenshot({ path: shotPath('fleet.png') });

    // Of the gateway, the browser holds an opaque, HttpOnly, SameSite=Strict cookie and nothing else: no token
    // anywhere. (Cookies ignore ports: the provider's own, on the same loopback host, show up here too.)
    const cookies = (await alice.cookies(world.gateway.url)).filter((c) => !c.name.startsWith('_'));
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['bg-session', true, 'Strict']]);
    expect(await browserStorage(page)).toEqual({ cookie: '', local: 0, session: 0 });
    await page.close();
  });

  it('Run now: keyboard operable; a double click starts one backup, whose progress bar reaches 100%', async () => {
    const page = await alice.newPage();
    await page.goto(`${world.gateway.url}/console/#/appliances/vc-a`);
    await page.getByRole('heading', { name: 'Schedules' }).waitFor();
    await page.getByRole('cell', { name: 'sftp://backup.example.test/vcsa' }).waitFor();
    const runNow = page.getByRole('button', { name: 'Run now default' });

    await runNow.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    expect(await page.evaluate("document.activeElement?.closest('dialog') !== null")).toBe(true);
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    // Focus is back on the button that opened the dialog, not on <body> (the top of the page).
    expect(await focusedText(page)).toBe('Run now default');

    const keys: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/run'))
        keys.push(request.headers()['idempotency-key']);
    });
    await runNow.dblclick();
    await page.getByLabel(/Comment/).fill('console e2e run');
    await expectAccessible(page);
    await page.screenshot({ path: shotPath('run-confirmation.png') });
    await page.getByRole('button', { name: 'Start backup' }).dblclick();

    const progress = page.locator('.job progress').first();
    await progress.waitFor();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    expect(await focusedText(page)).toBe('Run now default');
    // <progress value> reflects its property: the bar itself at 100 (string waits are eval, which the CSP forbids).
    await page.locator('.job progress[value="100"]').waitFor();
    await page
      .locator('.job')
      .first()
      .getByText(/Succeeded/)
      .waitFor();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(UUID_V4);
    expect(world.appliances['vc-a'].counters.runs).toBe(1);
    expect(world.appliances['vc-a'].counters.jobsStarted).toBe(1);
    await page.getByRole('row', { name: /SUCCEEDED 100%/ }).waitFor();
    await expectAccessible(page);
    await page.screenshot({ path: shotPath('appliance.png'), fullPage: true });
    await page.close();
  });

  it("times are shown in the operator's time zone, named, with UTC on hover", async () => {
    const page = await alice.newPage();
    await page.goto(`${world.gateway.url}/console/#/appliances/vc-a`);
    const started = page
      .getByRole('row', { name: /SUCCEEDED 100%/ })
      .locator('time')
      .first();
    await started.waitFor();
    const iso = (await started.getAttribute('datetime')) as string;
    const instant = new Date(iso);
    // The same instant in India: five and a half hours ahead of UTC.
    const local = new Date(instant.getTime() + 5.5 * 3_600_000);
    const hhmm = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`;
    const text = (await started.textContent()) as string;
    expect(text).toContain(hhmm);
    expect(text).toContain('GMT+5:30');
    expect(text).toContain(`${pad(local.getUTCDate())}/${pad(local.getUTCMonth() + 1)}/${local.getUTCFullYear()}`);
    expect(await started.getAttribute('title')).toBe(`${instant.toISOString().slice(0, 19).replace('T', ' ')} UTC`);
    await page.close();
  });

  it('the audit page shows the run as one row of its two entries naming Alice, and the chain verifies', async () => {
    const page = await alice.newPage();
    await page.goto(`${world.gateway.url}/console/#/audit`);
    const row = page.getByRole('row', { name: /console e2e run/ });
    await row.waitFor();
    const text = await row.textContent();
    for (const expected of ['Alice Operator', 'alice · session', 'vc-a', 'accepted', '202'])
      expect(text).toContain(expected);

    const entries = (await apiFromPage(page, '/audit/events')) as { items: AuditEntryLike[] };
    const run = entries.items.filter((entry) => entry.comment === 'console e2e run');
    expect(run.map((entry) => entry.stage).sort()).toEqual(['completed', 'requested']);
    const requested = run.find((entry) => entry.stage === 'requested');
    const completed = run.find((entry) => entry.stage === 'completed');
    expect(completed?.requestedId).toBe(requested?.id);
    for (const entry of run) {
      expect(entry.actor).toMatchObject({
        subject: `jwt:${world.provider.issuer}:alice`,
        name: 'Alice Operator',
        clientId: 'backup-console',
        authMethod: 'session',
      });
    }

    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/Chain verified: 2 entries intact/).waitFor();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export NDJSON' }).click();
    const lines = readFileSync(await (await download).path(), 'utf8')
      .trim()
      .split('\n');
    expect(lines.map((line) => JSON.parse(line).stage).sort()).toEqual(['completed', 'requested']);
    await expectAccessible(page);
    await page.screenshot({ path: shotPath('audit.png'), fullPage: true });
    await page.close();
  });

  it('"Skip to content" moves focus to the page\'s content and stays on the page', async () => {
    const page = await alice.newPage();
    await page.goto(`${world.gateway.url}/console/#/audit`);
    await page.getByRole('heading', { name: 'Audit', exact: true }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement?.id')).toBe('main');
    expect(new URL(page.url()).hash).toBe('#/audit');
    await page.close();
  });

  it('the fleet shows when each appliance was last backed up, those without a recent backup first and in red', async () => {
    const page = await alice.newPage();
    await page.goto(`${world.gateway.url}/console/#/fleet`);
    // vc-a was just backed up by the run above; the other simulators report no backup at all.
    await page
      .getByRole('row', { name: /vCenter A/ })
      .getByText(/min ago/)
      .waitFor();
    const stale = page.getByRole('row', { name: /vCenter B/ }).getByText('No successful backup reported');
    await stale.waitFor();
    // In the page: the cast only satisfies tsc (the test's types have no DOM).
    const color = await stale.evaluate(
      (element) =>
        (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(element).color,
    );
    expect(color).toBe('rgb(164, 14, 38)');
    const names = await page.locator('tbody tr th a').allTextContents();
    expect(names.at(-1)).toMatch(/vCenter A/);
    await expectAccessible(page);
    await page.close();
  });

  it('a progress stream the gateway ends early is followed again: the bar reaches the end, never a stale Running', async () => {
    const page = await alice.newPage();
    const jobReads: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'GET' && /\/backups\/jobs\/[^/]+(\/events)?$/.test(request.url()))
        jobReads.push(request.url().endsWith('/events') ? 'stream' : 'state');
    });
    await page.goto(`${world.gateway.url}/console/#/appliances/vc-a`);
    await page.getByRole('button', { name: 'Run now default' }).click();
    await page.getByRole('button', { name: 'Start backup' }).click();
    await page.locator('.job progress').first().waitFor();
    // The appliance fails the next status read: the gateway sends `error` and ends the stream.
    world.appliances['vc-a'].faults.set({ kind: 'status', status: 503, path: '/backup/job/', method: 'GET', times: 1 });
    await page.locator('.job.job-succeeded').first().waitFor({ timeout: 15_000 });
    await page.locator('.job.job-succeeded progress[value="100"]').first().waitFor();
    // After the early end: the job's state read again, then (unless it had ended meanwhile) a new stream.
    expect(jobReads[0]).toBe('stream');
    expect(jobReads).toContain('state');
    expect(world.appliances['vc-a'].faults.active()).toEqual([]);
    await page.close();
  });

  it('a fleet run opens its own page: each appliance under its backup target, its state in words, a problem with its code', async () => {
    const page = await alice.newPage();
    await page.goto(`${world.gateway.url}/console/#/fleet-run`);
    await page.getByLabel('Tag', { exact: true }).selectOption('lab');
    await page.getByLabel(/Comment/).fill('fleet run from the console');
    await page.getByRole('button', { name: 'Run on 2 appliances' }).click();
    const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/backups/runs'));
    await page.getByRole('button', { name: 'Start backups' }).click();
    // In waves, with the click's own key.
    const headers = (await posted).headers();
    expect(headers.prefer).toBe('respond-async');
    expect(headers['idempotency-key']).toMatch(UUID_V4);
    await page.waitForURL(/#\/fleet-runs\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { name: 'Fleet run default' }).waitFor();
    const started = page.locator('[data-appliance="vc-b"]');
    await started.getByText('Succeeded', { exact: true }).waitFor();
    expect(await started.getByRole('link', { name: 'vc-b' }).getAttribute('href')).toBe('#/appliances/vc-b');
    // vc-c cannot be reached: its schedule's location is unread, its target `unknown`.
    const refused = page.getByRole('region', { name: 'Backup target unknown' }).locator('[data-appliance="vc-c"]');
    await refused.getByText('APPLIANCE_UNAVAILABLE').waitFor();
    await refused.getByText('Failed', { exact: true }).waitFor();
    await page.getByText('Completed', { exact: true }).waitFor();
    // Headed in words: no bare status code stands for the outcome.
    for (const result of [started, refused])
      expect(await result.locator('p').first().textContent()).not.toMatch(/\b\d{3}\b/);
    expect(world.appliances['vc-b'].counters.jobsStarted).toBe(1);
    await expectAccessible(page);
    await page.screenshot({ path: shotPath('fleet-run.png'), fullPage: true });
    await page.close();
  });

  it('the audit page filters on replayed, rate limited and a request id, and says what each such entry means', async () => {
    // A run, then its retry with the same Idempotency-Key: the retry is answered from the store (`replayed`).
    const key = '6a0f4c1e-2b7d-4e8a-9c3f-5d1e2a7b8c90';
    const run = () =>
      fetch(`${world.gateway.url}/appliances/vc-b/backups/schedules/default/run`, {
        method: 'POST',
        headers: { 'x-api-key': LAB_API_KEY, 'idempotency-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ comment: 'replay from the audit test' }),
      });
    const first = await run();
    expect(first.status).toBe(202);
    const firstRequestId = first.headers.get('x-request-id') as string;
    const { job } = (await first.json()) as { job: { id: string } };
    const again = await run();
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    await jobEnded(world, 'vc-b', job.id);
    // A rate-limited window's entry: the gateway writes it when the caller's one-minute window closes; the test has
    // the gateway's own recorder write one now rather than wait a minute.
    await world.gateway.app.get(AuditRecorder, { strict: false }).rateLimited({
      requestId: 'rate-limited-by-the-test',
      action: 'backup.schedule.run',
      actor: { subject: 'apikey:lab', name: 'Lab key', authMethod: 'apiKey', ip: '127.0.0.1' },
      appliance: '*',
      schedule: '*',
      httpStatus: 429,
      code: 'RATE_LIMITED',
      count: 7,
      durationMs: 60_000,
    });

    const page = await alice.newPage();
    await page.goto(`${world.gateway.url}/console/#/audit`);
    await page.getByRole('row', { name: /console e2e run/ }).waitFor();
    const rows = page.locator('table.audit tbody tr');

    await page.getByLabel('Outcome').selectOption('replayed');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    // The unfiltered page holds many rows; the filtered one, this request's only.
    await eventually(async () => (await rows.count()) === 1);
    const replayed = (await rows.first().textContent()) as string;
    expect(replayed).toContain('a retry: the stored answer was sent again');
    expect(replayed).not.toContain('none (refused)');

    await page.getByLabel('Outcome').selectOption('rate_limited');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('row', { name: /7 requests refused/ }).waitFor();
    await eventually(async () => (await rows.count()) === 1);
    // `*` is no appliance: said in words, not a link to a page of an appliance named "*".
    expect(await rows.first().getByRole('link').count()).toBe(0);
    expect(await rows.first().textContent()).toContain('any appliance');
    await expectAccessible(page);

    await page.getByLabel('Outcome').selectOption('');
    await page.getByLabel('Request id').fill(firstRequestId);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('row', { name: /accepted/ }).waitFor();
    await eventually(async () => (await rows.count()) === 1);
    expect(await rows.first().getAttribute('data-request-id')).toBe(firstRequestId);
    await page.close();
  });

  it('a validation error is said once, in words: no regular expression', async () => {
    const page = await alice.newPage();
    await page.goto(`${world.gateway.url}/console/#/audit`);
    await page.getByLabel('Appliance').fill('vc a');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const problem = page.getByRole('alert');
    await problem.waitFor();
    const text = (await problem.textContent()) as string;
    expect(text).toContain('appliance: must be 1 to 128 letters, digits, dots, underscores, colons or hyphens');
    expect(text.match(/must be/g)).toHaveLength(1);
    expect(text).not.toMatch(/\^|\$|\[A-Z|\{0,/);
    expect(text).toContain('VALIDATION_FAILED');
    await page.close();
  });

  it('a user with read-only scopes sees no Run button and no audit; a 403 still explains itself', async () => {
    const bob = await newContext(browser);
    const page = await bob.newPage();
    await signIn(page, world, 'bob');
    expect(await page.getByRole('link', { name: 'Fleet run' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Audit' }).count()).toBe(0);
    await page.goto(`${world.gateway.url}/console/#/appliances/vc-a`);
    await page.getByRole('cell', { name: 'sftp://backup.example.test/vcsa' }).waitFor();
    expect(await page.getByRole('button', { name: /Run now/ }).count()).toBe(0);
    await page.screenshot({ path: shotPath('read-only.png') });
    await page.goto(`${world.gateway.url}/console/#/audit`);
    const problem = page.getByRole('alert');
    await problem.waitFor();
    expect(await problem.textContent()).toMatch(/Missing scope \(403\)[\s\S]*audit:read/);
    await bob.close();
  });

  it("another origin cannot use Alice's session: a cross-origin form post and fetches are refused", async () => {
    const runsBefore = world.appliances['vc-a'].counters.runs;
    const sameSite = await alice.newPage();
    await sameSite.goto(`http://127.0.0.1:${attackerPort}/`);
    const gateway = world.gateway.url;
    // A script there: a JSON run needs a CORS preflight, which the gateway does not grant.
    const preflighted = await sameSite.evaluate(async (base) => {
      try {
        const response = await fetch(`${base}/appliances/vc-a/backups/schedules/default/run`, {
          method: 'POST',
          credentials: 'include',
          headers: { 'content-type': 'application/json', 'x-console-request': '1' },
          body: '{}',
        });
        return response.status;
      } catch {
        return 'blocked';
      }
    }, gateway);
    expect(preflighted).toBe('blocked');
    // A simple (no-cors) read carries the cookie (same site) but not the console's header: 403.
    const logMark = world.gateway.logs.length;
    // (The gateway's Cross-Origin-Resource-Policy then keeps even the opaque answer from the page: the fetch rejects.)
    await sameSite.evaluate(
      (base) => fetch(`${base}/audit/events`, { credentials: 'include', mode: 'no-cors' }).catch(() => 'blocked'),
      gateway,
    );
    // A form posted from there: the browser sends the cookie and no console header; nothing runs.
    const target = JSON.stringify(`${gateway}/appliances/vc-a/backups/schedules/default/run`);
    await sameSite.evaluate(`(() => {
      const form = document.createElement('form');
      form.method = 'POST';
      form.action = ${target};
      form.enctype = 'text/plain';
      document.body.append(form);
      form.submit();
    })()`);
    await sameSite.waitForURL(/\/run$/);
    expect(await sameSite.locator('body').textContent()).toMatch(/"status":\s*(403|415)/);
    // From another site the SameSite=Strict cookie is not even sent: 401.
    const otherSite = await alice.newPage();
    await otherSite.goto(`http://localhost:${attackerPort}/`);
    await otherSite.evaluate(
      (base) => fetch(`${base}/appliances`, { credentials: 'include', mode: 'no-cors' }).catch(() => 'blocked'),
      gateway,
    );
    const answered = completedRequests(world, logMark);
    expect(answered).toEqual(
      expect.arrayContaining([
        { path: '/audit/events', status: 403 },
        { path: '/appliances', status: 401 },
      ]),
    );
    expect(world.appliances['vc-a'].counters.runs).toBe(runsBefore);
    await sameSite.close();
    await otherSite.close();
  });

  it('after a refusal "Try again" is a new request (a new key); after an unknown outcome the jobs come first, not a retry', async () => {
    const page = await alice.newPage();
    const keys: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/run'))
        keys.push(request.headers()['idempotency-key']);
    });
    const sim = world.appliances['vc-a'];
    await page.goto(`${world.gateway.url}/console/#/appliances/vc-a`);
    await page.getByRole('button', { name: 'Run now default' }).click();

    // The appliance refuses once (503 before doing anything): nothing started, so trying again is a new request.
    sim.faults.set({ kind: 'status', status: 503, path: '?action=run', times: 1 });
    await page.getByRole('button', { name: 'Start backup' }).click();
    await page.getByText(/Refused, nothing started/).waitFor();
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await page.locator('.job').first().waitFor();
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(keys[0]);
    await page.locator('.job.job-succeeded').first().waitFor();

    // The answer is lost after the appliance started the backup: the outcome is unknown. No retry, no confirm:
    // another click could start a second backup; the jobs come first.
    sim.faults.set({ kind: 'reset', path: '?action=run', phase: 'after', times: 1 });
    const jobsBefore = sim.counters.jobsStarted;
    await page.getByRole('button', { name: 'Run now default' }).click();
    await page.getByRole('button', { name: 'Start backup' }).click();
    await page.getByText(/Unknown: the backup may have started/).waitFor();
    expect(await page.getByRole('button', { name: 'Try again' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Start backup' }).count()).toBe(0);
    expect(sim.counters.jobsStarted).toBe(jobsBefore + 1);
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Show the recent jobs' }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    expect(await page.evaluate('document.activeElement?.id')).toBe('recent-jobs');
    await page.close();
  });

  it('logging out ends the session here and at the provider; the old cookie is refused', async () => {
    const page = await alice.newPage();
    await page.goto(`${world.gateway.url}/console/#/fleet`);
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    const [cookie] = (await alice.cookies(world.gateway.url)).filter((c) => c.name === 'bg-session');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Backup Gateway' }).waitFor();
    expect((await alice.cookies(world.gateway.url)).filter((c) => c.name === 'bg-session')).toEqual([]);

    const replayed = await fetch(`${world.gateway.url}/appliances`, {
      headers: { cookie: `${cookie.name}=${cookie.value}`, 'x-console-request': '1' },
    });
    expect(replayed.status).toBe(401);
    // The provider's session ended too: signing in asks for the password again.
    await page.getByRole('link', { name: 'Sign in with your organisation' }).click();
    await page.getByLabel('Password').waitFor();
    await page.close();
  });

  it("the demo's API-key sign-in: the key is exchanged once and kept by neither the browser nor the page", async () => {
    const lab = await newContext(browser);
    const page = await lab.newPage();
    await page.goto(`${world.gateway.url}/console/`);
    await page.getByLabel('API key').fill(LAB_API_KEY);
    await expectAccessible(page);
    await page.screenshot({ path: shotPath('sign-in.png') });
    await page.getByRole('button', { name: 'Sign in with API key' }).click();
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    expect(await page.getByText('Lab key').isVisible()).toBe(true);
    const cookies = await lab.cookies(world.gateway.url);
    expect(cookies.map((c) => c.name)).toEqual(['bg-session']);
    expect(cookies[0].value).not.toContain(LAB_API_KEY);
    expect(await browserStorage(page)).toEqual({ cookie: '', local: 0, session: 0 });
    expect(await page.content()).not.toContain(LAB_API_KEY);
    await lab.close();
  });

  it('on a tablet the pages fit the screen (tables scroll inside their frame)', async () => {
    const tablet = await browser.newContext({ viewport: { width: 820, height: 1180 }, hasTouch: true, isMobile: true });
    tablet.setDefaultTimeout(8_000);
    const page = await tablet.newPage();
    await page.goto(`${world.gateway.url}/console/`);
    await page.getByLabel('API key').fill(LAB_API_KEY);
    await page.getByRole('button', { name: 'Sign in with API key' }).tap();
    await page.getByRole('row', { name: /vCenter A/ }).waitFor();
    expect(await overflowsHorizontally(page)).toBe(false);
    await page.screenshot({ path: shotPath('fleet-tablet.png') });
    await page.goto(`${world.gateway.url}/console/#/appliances/vc-a`);
    await page.getByRole('heading', { name: 'Recent jobs' }).waitFor();
    expect(await overflowsHorizontally(page)).toBe(false);
    await page.screenshot({ path: shotPath('appliance-tablet.png') });
    await tablet.close();
  });

  it('on phones (320 and 390 px) every page fits the screen, wide tables scroll in their own focusable frame, and Run now and its dialog are on screen', async () => {
    const phone = await browser.newContext({ viewport: PHONES[0], hasTouch: true, isMobile: true });
    phone.setDefaultTimeout(8_000);
    const page = await phone.newPage();
    await signIn(page, world, 'alice');
    for (const size of PHONES) {
      await page.setViewportSize(size);
      const shot = (name: string) => (size.width === 390 ? shotPath(`${name}-phone.png`) : undefined);
      await page.goto(`${world.gateway.url}/console/#/fleet`);
      await page.getByRole('row', { name: /vCenter A/ }).waitFor();
      await expectFitsPhone(page);
      await page.screenshot({ path: shot('fleet') });

      await page.goto(`${world.gateway.url}/console/#/appliances/vc-a`);
      await page
        .getByRole('row', { name: /SUCCEEDED 100%/ })
        .first()
        .waitFor();
      await expectFitsPhone(page);
      const runNow = page.getByRole('button', { name: 'Run now default' });
      await expectOnScreen(page, runNow, true);
      await page.screenshot({ path: shot('appliance') });
      await runNow.tap();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await expectOnScreen(page, dialog);
      await expectOnScreen(page, page.getByRole('button', { name: 'Start backup' }));
      await expectAccessible(page);
      await page.screenshot({ path: shot('run-confirmation') });
      await page.getByRole('button', { name: 'Cancel' }).tap();
      await dialog.waitFor({ state: 'hidden' });

      await page.goto(`${world.gateway.url}/console/#/fleet-run`);
      await page.getByLabel('Pick appliances').check();
      await page.getByRole('checkbox').first().waitFor();
      await expectFitsPhone(page);

      await page.goto(`${world.gateway.url}/console/#/audit`);
      await page.getByRole('row', { name: /console e2e run/ }).waitFor();
      await expectFitsPhone(page);
    }
    const signedOut = await browser.newContext({ viewport: PHONES[0], hasTouch: true, isMobile: true });
    const signInPage = await signedOut.newPage();
    await signInPage.goto(`${world.gateway.url}/console/`);
    await signInPage.getByLabel('API key').waitFor();
    await expectFitsPhone(signInPage);
    await signedOut.close();
    await phone.close();
  });

  it('a session that ended before "Start backup" says the backup did not start, and after sign-in shows the run again without sending it', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, world, 'alice');
    await page.goto(`${world.gateway.url}/console/#/appliances/vc-b`);
    await page.getByRole('button', { name: 'Run now default' }).click();
    await page.getByLabel(/Comment/).fill('started after the session ended');
    // Meanwhile the session ends on the gateway (as after its idle timeout): the browser still holds the cookie.
    const [cookie] = (await context.cookies(world.gateway.url)).filter((c) => c.name === 'bg-session');
    const ended = await fetch(`${world.gateway.url}/console/logout`, {
      method: 'POST',
      headers: { cookie: `${cookie.name}=${cookie.value}`, 'x-console-request': '1', origin: world.gateway.url },
    });
    expect(ended.status).toBe(200);
    const sim = world.appliances['vc-b'];
    const runsBefore = sim.counters.runs;
    await page.getByRole('button', { name: 'Start backup' }).click();

    await page.getByRole('heading', { name: 'Sign in to Backup Gateway' }).waitFor();
    expect(await page.getByRole('status').textContent()).toMatch(/Your session has ended/);
    const refused = (await page.getByRole('alert').textContent()) as string;
    expect(refused).toContain('The backup of schedule default on vc-b did not start');
    expect(sim.counters.runs).toBe(runsBefore);
    await expectAccessible(page);
    await page.screenshot({ path: shotPath('session-ended.png') });

    // Signing in again (the provider may still know Alice, or ask again) leads back to that page and that run.
    await page.getByRole('link', { name: 'Sign in with your organisation' }).click();
    const backHome = page.getByRole('heading', { name: 'vCenter B' });
    await Promise.race([
      backHome.waitFor({ timeout: 15_000 }),
      page.getByLabel('Username').waitFor({ timeout: 15_000 }),
    ]);
    if (await page.getByLabel('Username').isVisible()) {
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill(USERS.alice.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }
    await backHome.waitFor();
    expect(new URL(page.url()).hash).toBe('#/appliances/vc-b');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('This backup did not start when your session ended');
    expect(await page.getByLabel(/Comment/).inputValue()).toBe('started after the session ended');
    // Shown again, never sent by itself: nothing reaches the appliance until the operator confirms.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sim.counters.runs).toBe(runsBefore);
    expect(await browserStorage(page)).toEqual({ cookie: '', local: 0, session: 0 });
    await page.getByRole('button', { name: 'Start backup' }).click();
    await page.locator('.job.job-succeeded').first().waitFor({ timeout: 15_000 });
    expect(sim.counters.runs).toBe(runsBefore + 1);
    await dialog.waitFor({ state: 'hidden' });
    expect(await focusedText(page)).toBe('Run now default');
    await context.close();
  });
});

/** Waits until the appliance reports the job ended, so that the next run there is not refused as a second one. */
async function jobEnded(world: ConsoleWorld, appliance: string, jobId: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await fetch(`${world.gateway.url}/appliances/${appliance}/backups/jobs/${jobId}`, {
      headers: { 'x-api-key': LAB_API_KEY },
    });
    const { job } = (await response.json()) as { job: { state: string } };
    if (job.state === 'SUCCEEDED' || job.state === 'FAILED') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${jobId} on ${appliance} did not end`);
}

/** An API call from the console page itself, as the console makes it (session cookie and console header). */
function apiFromPage(page: Page, path: string): Promise<unknown> {
  return page.evaluate(
    (target) => fetch(target, { headers: { 'x-console-request': '1' } }).then((response) => response.json()),
    path,
  );
}

/** What the page could read of its own storage: the session cookie is HttpOnly, so document.cookie is empty. */
function browserStorage(page: Page): Promise<{ cookie: string; local: number; session: number }> {
  return page.evaluate('({ cookie: document.cookie, local: localStorage.length, session: sessionStorage.length })');
}

/** Polls a condition of the page (string waits are eval, which the console's CSP forbids) for up to 5 s. */
async function eventually(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the page never reached the expected state');
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The accessible text of the focused element (a button's includes its visually hidden words). */
function focusedText(page: Page): Promise<string | undefined> {
  return page.evaluate('document.activeElement?.textContent');
}

/** Inside the viewport: nothing of it past the screen's edges (`across`: left and right only, for a page's content). */
async function expectOnScreen(page: Page, element: Locator, across = false): Promise<void> {
  const box = await element.boundingBox();
  const viewport = page.viewportSize();
  expect(box && viewport).toBeTruthy();
  if (!box || !viewport) return;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(viewport.width);
  if (across) return;
  expect(box.y).toBeGreaterThanOrEqual(0);
  expect(box.y + box.height).toBeLessThanOrEqual(viewport.height);
}

/** The gateway's own `request completed` lines since a mark: what it answered, by path. */
function completedRequests(world: ConsoleWorld, since: number): { path: string; status: number }[] {
  return world.gateway.logs
    .slice(since)
    .map((line) => JSON.parse(line) as { msg?: string; path?: string; status?: number })
    .filter((line) => line.msg === 'request completed')
    .map((line) => ({ path: line.path as string, status: line.status as number }));
}

interface AuditEntryLike {
  id: string;
  stage: string;
  comment: string | null;
  requestedId: string | null;
  actor: Record<string, unknown>;
}
