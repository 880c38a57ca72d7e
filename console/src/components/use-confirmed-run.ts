import { useRef, useState } from 'preact/hooks';
import type { Problem } from '../api/client';
import { newIdempotencyKey } from '../api/idempotency-key';

export type RunState<T> =
  | { status: 'idle' }
  | { status: 'sending'; key: string }
  | { status: 'done'; key: string; value: T }
  | { status: 'failed'; key: string; problem: Problem };

export type RunOutcome<T> = { ok: true; value: T } | { ok: false; problem: Problem };

/**
 * One confirmed click, one backup: the click gets a fresh Idempotency-Key; a second click while the first is under
 * way (a double click) is ignored outright; "Try again" after a failure resends with the same key, so that when the
 * first attempt did reach the gateway, the gateway answers it again instead of starting a second backup.
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
          : { status: 'failed', key, problem: outcome.problem },
      );
    } finally {
      inFlight.current = false;
    }
  };

  return {
    state,
    confirm: () => attempt(newIdempotencyKey()),
    retry: () => state.status === 'failed' && attempt(state.key),
    reset: () => {
      if (!inFlight.current) setState({ status: 'idle' });
    },
  };
}
