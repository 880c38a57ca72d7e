/**
 * Debian's Chromium (/usr/bin/chromium, installed by .ci/run), driven by playwright-core: never a browser download.
 * chromium.launch() gives every launch a fresh temporary profile, removed on close; each browser.newContext() is a
 * further isolated cookie jar (one per user of a test).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** CI installs Chromium, so there a missing browser fails the run; elsewhere the browser tests are skipped. */
export function browserAvailable(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium package`);
  process.stderr.write(`${suite} skipped: ${CHROMIUM} is missing (apt-get install chromium)\n`);
  return false;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}
