import { useEffect, useRef, useState } from 'preact/hooks';
import { CONSOLE_HEADERS, SESSION_ENDED } from './api/client';
import { AppliancePage } from './pages/appliance-page';
import { AuditPage } from './pages/audit-page';
import { FleetPage } from './pages/fleet-page';
import { FleetRunPage } from './pages/fleet-run-page';
import { FleetRunStatusPage } from './pages/fleet-run-status-page';
import { NotificationsPage } from './pages/notifications-page';
import { SignInPage } from './pages/sign-in-page';
import { type Route, useRoute } from './router';
import { loadSession, Scopes, ScopesContext, type SessionInfo } from './session';
import { offerRun, type Resume, rememberResume, type SessionEndedDetail, takeResume } from './session-resume';

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<SessionInfo | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  /** Set when the API said the session is gone: the sign-in page says so, and what did not happen because of it. */
  const [ended, setEnded] = useState<Resume | undefined>();
  /** Who was signed in last: only they are brought back to where they were. */
  const subject = useRef<string | undefined>(undefined);

  const refresh = () =>
    loadSession().then(
      (info) => {
        if (info.signedIn) {
          const resume = takeResume(info.subject);
          if (resume) {
            // Signed in again after the session ended: back to that page; a refused run is shown, not sent.
            offerRun(resume.run);
            if (location.hash !== resume.hash) location.hash = resume.hash;
          }
          subject.current = info.subject;
          setEnded(undefined);
        }
        setSession(info);
      },
      (error: Error) => setFailure(error.message),
    );

  useEffect(() => {
    void refresh();
    const onEnded = (event: Event) => {
      const detail = (event as CustomEvent<SessionEndedDetail | undefined>).detail;
      if (subject.current) setEnded(rememberResume(subject.current, detail?.run));
      void refresh();
    };
    window.addEventListener(SESSION_ENDED, onEnded);
    return () => window.removeEventListener(SESSION_ENDED, onEnded);
  }, []);

  if (failure) return <p role="alert">{failure}</p>;
  if (!session) return <p aria-busy="true">Loading…</p>;
  if (!session.signedIn) {
    const reason = route.page === 'signed-out' ? route.reason : ended ? 'session-ended' : '';
    return (
      <main id="main">
        <SignInPage
          session={session}
          reason={reason}
          refusedRun={ended?.run}
          onSignedIn={() =>
            void refresh().then(() => {
              if (location.hash.startsWith('#/signed-out')) location.hash = '#/fleet';
            })
          }
        />
      </main>
    );
  }
  const scopes = new Scopes(session.scopes ?? []);
  return (
    <ScopesContext.Provider value={scopes}>
      {/* A button, not a link to #main: the hash is the router's, and following it would leave the page. */}
      <button type="button" class="skip" onClick={skipToContent}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">Backup Gateway</span>
        <nav aria-label="Console">
          <NavLink route={route} page="fleet" href="#/fleet" label="Fleet" />
          {scopes.any('backups:run') && <NavLink route={route} page="fleet-run" href="#/fleet-run" label="Fleet run" />}
          {scopes.any('audit:read') && <NavLink route={route} page="audit" href="#/audit" label="Audit" />}
          {/* Notifications name every appliance: the API lists them for the unscoped audit:read only. */}
          {scopes.all('audit:read') && (
            <NavLink route={route} page="notifications" href="#/notifications" label="Notifications" />
          )}
        </nav>
        <span class="user">
          <span title={session.subject}>{session.name ?? session.subject}</span>
          <button type="button" class="secondary" onClick={() => void logout()}>
            Log out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </ScopesContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'appliance':
      return <AppliancePage id={route.id} />;
    case 'fleet-run':
      return <FleetRunPage />;
    case 'fleet-run-status':
      return <FleetRunStatusPage id={route.id} />;
    case 'audit':
      return <AuditPage />;
    case 'notifications':
      return <NotificationsPage />;
    default:
      return <FleetPage />;
  }
}

function NavLink({ route, page, href, label }: { route: Route; page: Route['page']; href: string; label: string }) {
  const current =
    route.page === page ||
    (page === 'fleet' && route.page === 'appliance') ||
    (page === 'fleet-run' && route.page === 'fleet-run-status');
  return (
    <a href={href} aria-current={current ? 'page' : undefined}>
      {label}
    </a>
  );
}

/** The gateway ends the session and says where to go to end the provider's session too. */
async function logout(): Promise<void> {
  const response = await fetch('/console/logout', {
    method: 'POST',
    headers: CONSOLE_HEADERS,
    credentials: 'same-origin',
  });
  const { redirect } = response.ok ? ((await response.json()) as { redirect: string }) : { redirect: '/console/' };
  location.assign(redirect);
  if (redirect.startsWith('/console/')) location.reload();
}

function skipToContent(): void {
  document.getElementById('main')?.focus();
}
