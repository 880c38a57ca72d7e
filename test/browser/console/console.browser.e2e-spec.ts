/**
 * The operator console in a real browser (Debian's Chromium), against the in-process gateway over real HTTP, the
 * appliance simulator and a real OpenID provider. One browser for the file; one context (cookie jar) per user.
 * Screenshots of each page go to docs/screenshots/ for the README. The tests run in order: Alice's session carries
 * from sign-in through a run and its audit entries to logout.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserAvailable, launchBrowser } from '../../support/chromium.js';
import { type ConsoleWorld, LAB_API_KEY, startConsoleWorld, USERS } from '../../support/console/console-world.js';

const SCREENSHOTS = 'docs/screenshots';
/**
 * The README's screenshots are tracked files: a test run takes every screenshot (a page that cannot render fails it)
 * but writes them only when asked (`UPDATE_SCREENSHOTS=1 npm test -- test/browser/console`), so tests leave the tree clean.
 */
const shotPath = (name: string) => (process.env.UPDATE_SCREENSHOTS === '1' ? `${SCREENSHOTS}/${name}` : undefined);
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LAPTOP = { width: 1280, height: 800 };

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
    alice = await newContext(browser);
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

  it('a fleet run shows one result per appliance: a started job with its own progress, a problem with its code', async () => {
    const page = await alice.newPage();
    await page.goto(`${world.gateway.url}/console/#/fleet-run`);
    await page.getByLabel('Tag', { exact: true }).selectOption('lab');
    await page.getByLabel(/Comment/).fill('fleet run from the console');
    await page.getByRole('button', { name: 'Run on 2 appliances' }).click();
    await page.getByRole('button', { name: 'Start backups' }).click();
    const started = page.locator('[data-appliance="vc-b"]');
    await started.getByText('202', { exact: true }).waitFor();
    await started.locator('progress[value="100"]').waitFor();
    await started.getByText(/Succeeded/).waitFor();
    const refused = page.locator('[data-appliance="vc-c"]');
    await refused.getByText('APPLIANCE_UNAVAILABLE').waitFor();
    expect(await refused.getByRole('alert').textContent()).toMatch(/503/);
    expect(world.appliances['vc-b'].counters.jobsStarted).toBe(1);
    await expectAccessible(page);
    await page.screenshot({ path: shotPath('fleet-run.png'), fullPage: true });
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
});

async function newContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: LAPTOP, acceptDownloads: true });
  context.setDefaultTimeout(8_000);
  return context;
}

async function signIn(page: Page, world: ConsoleWorld, user: keyof typeof USERS): Promise<void> {
  await page.goto(`${world.gateway.url}/console/`);
  await page.getByRole('link', { name: 'Sign in with your organisation' }).click();
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(USERS[user].password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
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

function overflowsHorizontally(page: Page): Promise<boolean> {
  return page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth');
}

/** The gateway's own `request completed` lines since a mark: what it answered, by path. */
function completedRequests(world: ConsoleWorld, since: number): { path: string; status: number }[] {
  return world.gateway.logs
    .slice(since)
    .map((line) => JSON.parse(line) as { msg?: string; path?: string; status?: number })
    .filter((line) => line.msg === 'request completed')
    .map((line) => ({ path: line.path as string, status: line.status as number }));
}

/** axe-core's WCAG 2.1 A and AA rules (names, labels, contrast, roles) on the page as it is now. */
async function expectAccessible(page: Page): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  // A string, evaluated in the page: these tests are type-checked without the DOM's types.
  const violations = await page.evaluate(`axe
    .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((result) => result.violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target) })))`);
  expect(violations).toEqual([]);
}

interface AuditEntryLike {
  id: string;
  stage: string;
  comment: string | null;
  requestedId: string | null;
  actor: Record<string, unknown>;
}
