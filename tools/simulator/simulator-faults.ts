/**
 * Fault injection for the appliance simulator: what can go wrong between the gateway and a real appliance (slow or
 * dead network, resets, proxies answering errors, garbage bodies, a disabled service account, session exhaustion).
 */
import type { VapiErrorType } from './vapi-errors.js';

/** Which requests a fault applies to. Every given field must match; none given: every request. */
export interface FaultScope {
  /** RegExp tested against, or substring of, the raw request target as received (path plus query, not decoded). */
  path?: RegExp | string;
  /** HTTP method, case-insensitive. */
  method?: string;
  /** How many matching requests the fault applies to before it removes itself; unset: until cleared. */
  times?: number;
  /**
   * 'before' (default): the fault replaces the handling, so the request has no effect on the appliance (no job
   * started, no session created). 'after': the request is handled normally (a job IS started, a session IS created)
   * and only the answer is replaced (delayed, reset, hung, garbled or an error status): the "it happened, but the
   * client never learnt it" case. Not used by rejectCredentials/sessionLimit, which are decisions, not transport faults.
   */
  phase?: 'before' | 'after';
}

export type FaultKind =
  | { kind: 'latency'; ms: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | {
      kind: 'status';
      status: number;
      /** Defaults from the status (500 ERROR, 503 SERVICE_UNAVAILABLE, 403 UNAUTHORIZED, ...); null omits it (old appliances). */
      errorType?: VapiErrorType | null;
      messageId?: string;
      message?: string;
      /** Send this body verbatim instead of a vAPI error (e.g. an HTML page from a reverse proxy). */
      rawBody?: string;
      /** Content type for rawBody; default application/json. */
      contentType?: string;
      /** With rawBody: a Location header (a redirect, from a misconfigured proxy or a hostile appliance). */
      location?: string;
    }
  | { kind: 'malformed' }
  | { kind: 'rejectCredentials' }
  | { kind: 'sessionLimit' };

export type Fault = FaultKind & FaultScope;

/** What a request is, as far as fault applicability goes. */
export interface FaultTarget {
  method: string;
  rawPath: string;
  isLogin: boolean;
}

export class SimulatorFaults {
  private faults: Fault[] = [];

  /** Replaces every active fault with the given one(s): after set(x), only x is active. */
  set(fault: Fault | Fault[]): void {
    this.faults = (Array.isArray(fault) ? fault : [fault]).map((f) => ({ ...f }));
  }

  /** Adds a fault to the active ones; the earliest added that matches a request wins. */
  add(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  clear(): void {
    this.faults = [];
  }

  /** The active faults (copies; `times` shows what is left). */
  active(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /**
   * Finds the first fault that applies to this request in this phase and consumes one of its `times`. Login-only
   * kinds (sessionLimit) never match other requests, so a scope-less sessionLimit does not disturb running calls.
   */
  take(target: FaultTarget, phase: 'before' | 'after'): Fault | undefined {
    const index = this.faults.findIndex((f) => applies(f, target, phase));
    if (index < 0) return undefined;
    const fault = this.faults[index];
    if (fault.times !== undefined) {
      fault.times -= 1;
      if (fault.times <= 0) this.faults.splice(index, 1);
    }
    return { ...fault };
  }
}

function applies(fault: Fault, target: FaultTarget, phase: 'before' | 'after'): boolean {
  if (fault.times !== undefined && fault.times <= 0) return false;
  const decision = fault.kind === 'rejectCredentials' || fault.kind === 'sessionLimit';
  if ((decision ? 'before' : (fault.phase ?? 'before')) !== phase) return false;
  if (fault.kind === 'sessionLimit' && !target.isLogin) return false;
  if (fault.method !== undefined && fault.method.toUpperCase() !== target.method.toUpperCase()) return false;
  if (fault.path !== undefined) {
    if (typeof fault.path === 'string') return target.rawPath.includes(fault.path);
    fault.path.lastIndex = 0; // a /g or /y RegExp keeps state between tests
    return fault.path.test(target.rawPath);
  }
  return true;
}
