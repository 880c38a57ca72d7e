import { SESSION_ENDED } from './api/client';

/** A backup the operator confirmed that the gateway refused because the session had ended: nothing started. */
export interface RunIntent {
  appliance: string;
  schedule: string;
  comment: string;
}

/** What SESSION_ENDED may carry: the run that the ended session kept from starting. */
export interface SessionEndedDetail {
  run?: RunIntent;
}

/**
 * Where the operator was when the session ended, kept in this tab (sessionStorage) so that it survives the trip to
 * the identity provider and back. Only the same person is brought back to it, and only once.
 */
export interface Resume {
  subject: string;
  hash: string;
  run?: RunIntent;
}

const KEY = 'backup-console:resume';

/** Says the session ended, naming the run it stopped: the sign-in page tells the operator it did not start. */
export function announceSessionEnded(run?: RunIntent): void {
  window.dispatchEvent(new CustomEvent<SessionEndedDetail>(SESSION_ENDED, { detail: { run } }));
}

/**
 * Remembers the page (and the refused run, if any) for after sign-in. Several requests may fail at once (a refresh
 * and the run): the run, once known, is kept.
 */
export function rememberResume(subject: string, run?: RunIntent): Resume {
  const previous = read();
  const hash = location.hash.startsWith('#/signed-out') ? '#/fleet' : location.hash || '#/fleet';
  const resume: Resume = { subject, hash, run: run ?? (previous?.subject === subject ? previous.run : undefined) };
  try {
    sessionStorage.setItem(KEY, JSON.stringify(resume));
  } catch {
    // Storage refused (private mode, quota): the operator signs in and starts from the fleet.
  }
  return resume;
}

/** The resume kept for this subject, removed whoever signed in: another person starts from the fleet. */
export function takeResume(subject: string | undefined): Resume | undefined {
  const resume = read();
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Nothing was kept.
  }
  return resume && resume.subject === subject ? resume : undefined;
}

function read(): Resume | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw === null ? undefined : (JSON.parse(raw) as Resume);
  } catch {
    return undefined;
  }
}

/** The run handed back after sign-in, until its Run now button takes it to show it again (never to send it). */
let offered: RunIntent | undefined;

export function offerRun(run: RunIntent | undefined): void {
  offered = run;
}

export function takeOfferedRun(appliance: string, schedule: string): RunIntent | undefined {
  if (offered?.appliance !== appliance || offered.schedule !== schedule) return undefined;
  const run = offered;
  offered = undefined;
  return run;
}
