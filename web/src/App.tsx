import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, type ReactNode, Suspense, useEffect, useRef } from 'react';
import { Link, Route, Switch, useLocation } from 'wouter';
import { errorMessage } from './api/client';
import { endpoints, keys } from './api/endpoints';
import { ErrorBoundary } from './components/ErrorBoundary';
import { ErrorState, Loading } from './components/States';
import { ThemeToggle } from './components/ThemeToggle';
import { useToast } from './components/Toasts';
import { LiveProvider, POLL_MS, useLiveStatus } from './live/live';
import { AlertsPage } from './pages/AlertsPage';
import { AuthScreen } from './pages/AuthScreen';
import { MailboxPage } from './pages/MailboxPage';
import { NotificationsPage } from './pages/NotificationsPage';
import { SettingsPage } from './pages/SettingsPage';
import { WatchlistPage } from './pages/WatchlistPage';
import { paths } from './routes';

// The chart library is most of the weight: loaded only when a symbol page opens.
const SymbolPage = lazy(() => import('./pages/SymbolPage'));

export function App() {
  const session = useQuery({ queryKey: keys.session, queryFn: endpoints.session, staleTime: 5 * 60_000 });
  if (session.isPending) return <Loading label="Starting Stockwatch…" />;
  if (session.isError)
    return (
      <main className="narrow">
        <h1>Stockwatch</h1>
        <ErrorState error={session.error} onRetry={() => void session.refetch()} />
      </main>
    );
  if (!session.data) return <AuthScreen />;
  return (
    <LiveProvider>
      <Layout email={session.data.user.email}>
        <Suspense fallback={<Loading />}>
          <Switch>
            <Route path={paths.watchlist} component={WatchlistPage} />
            <Route path="/symbols/:symbol">
              {(params) => <SymbolPage symbol={params.symbol.toUpperCase()} />}
            </Route>
            <Route path={paths.notifications}>
              <NotificationsPage />
            </Route>
            <Route path="/notifications/:id">{(params) => <NotificationsPage editId={params.id} />}</Route>
            <Route path={paths.alerts} component={AlertsPage} />
            <Route path={paths.mailbox} component={MailboxPage} />
            <Route path={paths.settings} component={SettingsPage} />
            <Route>
              <NotFound />
            </Route>
          </Switch>
        </Suspense>
      </Layout>
    </LiveProvider>
  );
}

function Layout({ email, children }: { email: string; children: ReactNode }) {
  const [location] = useLocation();
  const mailbox = useQuery({ queryKey: keys.mailbox, queryFn: endpoints.mailbox, staleTime: 60_000 });
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);

  // On each page change, move focus to the new page's heading, as a full page load would for a reader.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on navigation
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = mainRef.current?.querySelector<HTMLElement>('h1');
    heading?.setAttribute('tabindex', '-1');
    heading?.focus();
    window.scrollTo(0, 0);
  }, [location]);

  const nav: Array<[string, string]> = [
    [paths.watchlist, 'Watchlist'],
    [paths.notifications, 'Notifications'],
    [paths.alerts, 'Alerts'],
    ...(mailbox.data?.enabled ? ([[paths.mailbox, 'Mailbox']] as Array<[string, string]>) : []),
    [paths.settings, 'Settings'],
  ];
  const current = (href: string) =>
    href === '/' ? location === '/' || location.startsWith('/symbols/') : location.startsWith(href);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand">
          <span aria-hidden="true">◆</span> Stockwatch
        </Link>
        <nav aria-label="Main">
          <ul>
            {nav.map(([href, label]) => (
              <li key={href}>
                <Link href={href} aria-current={current(href) ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="topbar-tools">
          <LiveIndicator />
          <ThemeToggle />
          <SignOut email={email} />
        </div>
      </header>
      <main id="main" ref={mainRef}>
        <ErrorBoundary resetKey={location}>{children}</ErrorBoundary>
      </main>
    </>
  );
}

function LiveIndicator() {
  const status = useLiveStatus();
  const text =
    status === 'live'
      ? 'Live'
      : status === 'connecting'
        ? 'Connecting…'
        : `Reconnecting · refresh every ${POLL_MS / 1000} s`;
  return (
    <span
      className={`live live-${status}`}
      role="status"
      title={status === 'live' ? 'Prices arrive as they happen' : text}
    >
      <span className="dot" aria-hidden="true" />
      <span className="live-text">{text}</span>
    </span>
  );
}

function SignOut({ email }: { email: string }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [, navigate] = useLocation();
  const signOut = useMutation({
    mutationFn: endpoints.signOut,
    onSuccess: () => {
      navigate('/');
      // The sign-in screen replaces the pages, then nothing of this user's data stays in memory.
      queryClient.setQueryData(keys.session, null);
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== keys.session[0] });
    },
    onError: (error) => toast({ kind: 'error', title: 'Could not sign out', body: errorMessage(error) }),
  });
  return (
    <span className="account">
      <span className="account-email" title={email}>
        {email}
      </span>
      <button type="button" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
        Sign out
      </button>
    </span>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. <Link href="/">Back to the watchlist</Link>
      </p>
    </section>
  );
}
