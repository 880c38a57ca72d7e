import { useState } from 'preact/hooks';
import { asProblem, CONSOLE_HEADERS, type Problem } from '../api/client';
import { ProblemMessage } from '../components/problem-message';
import type { SessionInfo } from '../session';
import type { RunIntent } from '../session-resume';

const REASONS: Record<string, string> = {
  'logged-out': 'You are logged out.',
  'login-expired': 'The sign-in took too long or was already used; please sign in again.',
  'login-refused': 'The identity provider did not sign you in.',
  'login-failed': 'Signing in failed; please try again, and tell an administrator if it keeps failing.',
  'session-ended': 'Your session has ended (unused for too long, or at its time limit); please sign in again.',
};

/** Signed out: the organisation's sign-in, and, in demos and labs, an API key exchanged for a session once. */
export function SignInPage({
  session,
  reason,
  refusedRun,
  onSignedIn,
}: {
  session: SessionInfo;
  reason: string;
  /** A backup the operator confirmed when the session had already ended: refused by the gateway, not started. */
  refusedRun?: RunIntent;
  onSignedIn: () => void;
}) {
  const [apiKey, setApiKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | undefined>();

  const exchange = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const response = await fetch('/console/api-key-session', {
        method: 'POST',
        headers: { ...CONSOLE_HEADERS, 'Content-Type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ apiKey }),
      });
      if (!response.ok) return setProblem(asProblem(await response.json().catch(() => undefined), response.status));
      setApiKey('');
      onSignedIn();
    } catch (failure) {
      setProblem(asProblem(failure));
    } finally {
      setBusy(false);
    }
  };

  const { oidc, apiKey: apiKeyLogin } = session.login;
  return (
    <section class="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in to Backup Gateway</h1>
      {REASONS[reason] && <p role="status">{REASONS[reason]}</p>}
      {refusedRun && (
        <div class="problem" role="alert">
          <p class="problem-title">
            The backup of schedule {refusedRun.schedule} on {refusedRun.appliance} did not start.
          </p>
          <p>
            Your session had ended, so the gateway refused it before anything reached the appliance. Sign in again to
            return to it: you will be asked to confirm it again.
          </p>
        </div>
      )}
      {oidc && (
        <p>
          <a class="button primary" href="/console/login">
            Sign in with your organisation
          </a>
        </p>
      )}
      {apiKeyLogin && (
        <form onSubmit={exchange} class="stack" autocomplete="off">
          <h2>Demo and lab sign-in</h2>
          <p class="muted">The key is sent once and exchanged for a session; this browser does not keep it.</p>
          <div class="field">
            <label for="api-key">API key</label>
            <input
              id="api-key"
              type="password"
              autocomplete="off"
              required
              value={apiKey}
              onInput={(event) => setApiKey(event.currentTarget.value)}
            />
          </div>
          <div>
            <button type="submit" class="primary" disabled={busy}>
              Sign in with API key
            </button>
          </div>
          {problem && <ProblemMessage problem={problem} context="Not signed in" />}
        </form>
      )}
      {!oidc && !apiKeyLogin && <p>No sign-in method is configured on this gateway (console.oidc).</p>}
    </section>
  );
}
