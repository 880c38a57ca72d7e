import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './api-types';

export type { components };

export type Problem = components['schemas']['ProblemDocument'];
export type Appliance = components['schemas']['ApplianceDto'];
export type Schedule = components['schemas']['ScheduleDto'];
export type Job = components['schemas']['JobDto'];
export type AuditEvent = components['schemas']['AuditEventDto'];
export type FleetRun = components['schemas']['FleetRunStateDto'];
export type FleetRunMember = components['schemas']['FleetRunMemberDto'];

/**
 * Sent with every call: the gateway accepts the session cookie only with it (and the console's own Origin), so a page
 * on another site cannot use the session even where a browser would send the cookie along.
 */
export const CONSOLE_HEADERS = { 'X-Console-Request': '1' } as const;

/**
 * Instead, on reads the console makes by itself (the Fleet page's timed refresh): the gateway does not count them as
 * use, so a page left open does not keep a session alive past its idle timeout.
 */
export const BACKGROUND_HEADERS = { 'X-Console-Request': 'background' } as const;

/** Fired when the API says the session is gone (ended, idle, expired): the app shows the sign-in page. */
export const SESSION_ENDED = 'console:session-ended';

const sessionWatch: Middleware = {
  onResponse({ response }) {
    if (response.status === 401) window.dispatchEvent(new Event(SESSION_ENDED));
    return undefined;
  },
};

/** The typed API client: paths, parameters, bodies and answers all come from the OpenAPI document. */
export const api = createClient<paths>({ baseUrl: '', headers: CONSOLE_HEADERS, credentials: 'same-origin' });
api.use(sessionWatch);

/** A failure as the console shows it: the API's problem document, or one made up for a network failure. */
export function asProblem(error: unknown, status = 0): Problem {
  if (isProblem(error)) return error;
  return {
    type: 'about:blank',
    title: status === 0 ? 'The gateway could not be reached' : `Unexpected answer (${status})`,
    status,
    detail: error instanceof Error ? error.message : 'Check your connection and try again.',
    instance: '',
    requestId: '',
    code: 'SERVICE_UNAVAILABLE',
  };
}

function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && 'code' in value && 'status' in value && 'title' in value;
}
