import { useRef, useState } from 'preact/hooks';
import type { Problem } from '../api/client';
import { newIdempotencyKey } from '../api/idempotency-key';

/**
 * What a failed run means, in the audit trail's words: `unknown` when the backup may have started (the gateway says
 * so with `mayHaveStarted`; or no answer reached the console; or a 500, a fault of the gateway's own, possibly after
 * sending), `refused` otherwise: nothing started.
 */
export type FailureKind = 'refused' | 'unknown';

export function failureKind(problem: Problem): FailureKind {
  return problem.mayHaveStarted === true || problem.status === 0 || problem.status === 500 ? 'unknown' : 'refused';
}

export type RunState<T> =
  | { status: 'idle' }
  | { status: 'sending'; key: string }
  | { status: 'done'; key: string; value: T }
  | { status: 'failed'; key: string; problem: Problem; kind: FailureKind };

export type RunOutcome<T> = { ok: true; value: T } | { ok: false; problem: Problem };

/**
 * One confirmed click, one backup. The click gets a fresh Idempotency-Key; a second click while the first is under way
 * (a double click) is ignored outright. After a refusal nothing started, so trying again is a new request with a new
 * key (the old key's answer is the refusal). After an unknown outcome the same intent keeps its key: confirming again
 * sends the same request, which the gateway answers once (the job, or the same unknown), never a second backup.
 */
export function useConfirmedRun<T>(send: (idempotencyKey: string) => Promise<RunOutcome<T>>) {
  const inFlight = useRef(false);
  const [state, setState] = useState<RunState<T>>({ status: 'idle' });

  const attempt = async (key: string) => {
    if (inFlight.current) return;
    inFlight.current = true;
    setState({ status: 'sending', key });
    try {
      const outcome = await send(key);
      setState(
        outcome.ok
          ? { status: 'done', key, value: outcome.value }
          : { status: 'failed', key, problem: outcome.problem, kind: failureKind(outcome.problem) },
      );
    } finally {
      inFlight.current = false;
    }
  };

  return {
    state,
    confirm: () => attempt(state.status === 'failed' && state.kind === 'unknown' ? state.key : newIdempotencyKey()),
    /** After a refusal only: a new request. */
    retry: () => state.status === 'failed' && state.kind === 'refused' && attempt(newIdempotencyKey()),
    reset: () => {
      if (!inFlight.current) setState({ status: 'idle' });
    },
  };
}
