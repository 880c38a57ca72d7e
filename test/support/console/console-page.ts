/**
 * What the console's browser tests do and check on every page: sign in, open a user's context, and the checks every
 * page must pass (axe's WCAG rules; fitting a phone, wide tables scrolling in their own focusable frame).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type ConsoleWorld, USERS } from './console-world.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export const LAPTOP = { width: 1280, height: 800 };
export const PHONES = [
  { width: 320, height: 568 },
  { width: 390, height: 844 },
];

export async function newContext(
  browser: Browser,
  options: { timezoneId?: string; locale?: string } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: LAPTOP, acceptDownloads: true, ...options });
  context.setDefaultTimeout(8_000);
  return context;
}

export async function signIn(page: Page, world: ConsoleWorld, user: keyof typeof USERS): Promise<void> {
  await page.goto(`${world.gateway.url}/console/`);
  await page.getByRole('link', { name: 'Sign in with your organisation' }).click();
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(USERS[user].password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
}

export function overflowsHorizontally(page: Page): Promise<boolean> {
  return page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth');
}

/**
 * The page fits a phone: nothing scrolls the page sideways; a table wider than the screen scrolls inside a frame a
 * keyboard can focus (axe's scrollable-region-focusable, which the run below includes); axe clean at this size.
 */
export async function expectFitsPhone(page: Page): Promise<void> {
  expect(await overflowsHorizontally(page)).toBe(false);
  // A frame learns that it scrolls when it is laid out (ResizeObserver): a moment after its rows appear.
  let frames: { scrolls: boolean; tabIndex: number; name: string | null }[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    frames = (await page.evaluate(`[...document.querySelectorAll('.table-wrap')].map((frame) => ({
      scrolls: frame.scrollWidth > frame.clientWidth,
      tabIndex: frame.tabIndex,
      name: frame.getAttribute('aria-label'),
    }))`)) as typeof frames;
    if (frames.every((frame) => !frame.scrolls || frame.tabIndex === 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const frame of frames.filter((f) => f.scrolls)) {
    expect(frame).toEqual({ scrolls: true, tabIndex: 0, name: expect.stringMatching(/scrolls sideways/) });
  }
  await expectAccessible(page);
}

/** axe-core's WCAG 2.1 A and AA rules (names, labels, contrast, roles) on the page as it is now. */
export async function expectAccessible(page: Page): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  // A string, evaluated in the page: these tests are type-checked without the DOM's types.
  const violations = await page.evaluate(`axe
    .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((result) => result.violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target) })))`);
  expect(violations).toEqual([]);
}
