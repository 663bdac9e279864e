import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { errorMessage } from '../api/client';
import { endpoints, keys } from '../api/endpoints';
import type { NotificationView } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Empty, ErrorState, Loading } from '../components/States';
import { useToast } from '../components/Toasts';
import { formatCooldown, formatFull, formatRelative } from '../format';
import { useDocumentTitle, useNow } from '../hooks';
import { usePollInterval } from '../live/live';
import { paths } from '../routes';
import { NotificationForm } from './NotificationForm';

/** The user's notifications: the form to create one (or edit the one in the URL) and the list. */
export function NotificationsPage({ editId }: { editId?: string }) {
  useDocumentTitle(editId ? 'Edit notification' : 'Notifications');
  const [, navigate] = useLocation();
  const search = new URLSearchParams(useSearch());
  const presetSymbol = search.get('symbol')?.toUpperCase();
  const [formKey, setFormKey] = useState(0);

  const editing = useQuery({
    queryKey: keys.notification(editId ?? ''),
    queryFn: () => endpoints.notification(editId ?? ''),
    enabled: editId !== undefined,
  });

  return (
    <section>
      <div className="page-head">
        <h1>{editId ? 'Edit notification' : 'Notifications'}</h1>
        <p className="muted">Rules that watch a price and tell you when it does what you asked.</p>
      </div>
      <div className="card form-card">
        {editId === undefined ? (
          <>
            <h2>New notification</h2>
            <NotificationForm
              key={`new-${formKey}-${presetSymbol ?? ''}`}
              {...(presetSymbol && { symbol: presetSymbol })}
              onDone={() => setFormKey((k) => k + 1)}
            />
          </>
        ) : editing.isPending ? (
          <Loading />
        ) : editing.isError ? (
          <ErrorState error={editing.error} onRetry={() => void editing.refetch()} />
        ) : (
          <>
            <h2>
              {editing.data.symbol} {editing.data.condition_text}{' '}
              <span className={`badge badge-${editing.data.status}`}>{editing.data.status}</span>
            </h2>
            <NotificationForm
              key={editing.data.updated_at}
              existing={editing.data}
              onDone={() => navigate(paths.notifications)}
              onCancel={() => navigate(paths.notifications)}
            />
          </>
        )}
      </div>
      <NotificationList />
    </section>
  );
}

function NotificationList() {
  const poll = usePollInterval(60_000);
  const list = useInfiniteQuery({
    queryKey: keys.notifications,
    queryFn: ({ pageParam }) => endpoints.notifications(pageParam ? { cursor: pageParam } : {}),
    initialPageParam: '',
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    refetchInterval: poll,
  });
  const [deleting, setDeleting] = useState<NotificationView | undefined>();
  // Names of saved channels, for the Channels column.
  const saved = useQuery({ queryKey: keys.channels, queryFn: endpoints.channels });
  const queryClient = useQueryClient();
  const toast = useToast();
  const [location, navigate] = useLocation();
  const now = useNow(30_000);

  const remove = useMutation({
    mutationFn: (n: NotificationView) => endpoints.deleteNotification(n.id),
    onSuccess: async (_, n) => {
      setDeleting(undefined);
      toast({ kind: 'info', title: 'Notification deleted', body: `${n.symbol} ${n.condition_text}` });
      if (location === paths.notification(n.id)) navigate(paths.notifications);
      await queryClient.invalidateQueries({ queryKey: keys.notifications });
    },
    onError: (error) => toast({ kind: 'error', title: 'Could not delete', body: errorMessage(error) }),
  });
  const pause = useMutation({
    mutationFn: (n: NotificationView) =>
      endpoints.updateNotification(n.id, { paused: n.status !== 'paused' }),
    onSuccess: async (saved) => {
      toast({
        kind: 'info',
        title: saved.status === 'paused' ? 'Paused' : 'Resumed',
        body: `${saved.symbol} ${saved.condition_text}`,
      });
      await queryClient.invalidateQueries({ queryKey: keys.notifications });
    },
    onError: (error) => toast({ kind: 'error', title: 'Could not change it', body: errorMessage(error) }),
  });

  const items = list.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <section className="card" aria-labelledby="your-notifications">
      <h2 id="your-notifications">Your notifications</h2>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="No notifications yet">
          <p>Create one above: pick a symbol, a condition and a threshold.</p>
        </Empty>
      ) : (
        <table className="responsive-table notifications">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Status</th>
              <th scope="col">Cooldown</th>
              <th scope="col">Channels</th>
              <th scope="col">Last fired</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((n) => (
              <tr key={n.id} data-id={n.id}>
                <th scope="row" data-label="Rule">
                  <Link href={paths.symbol(n.symbol)}>{n.symbol}</Link> {n.condition_text}
                </th>
                <td data-label="Status">
                  <span className={`badge badge-${n.status}`}>{n.status}</span>
                  {n.expires_at && n.status !== 'expired' && (
                    <small className="muted block" title={formatFull(n.expires_at)}>
                      expires {formatRelative(n.expires_at, now)}
                    </small>
                  )}
                </td>
                <td data-label="Cooldown">
                  {formatCooldown(n.cooldown_minutes)}
                  {n.trigger === 'once' && <small className="muted block">once</small>}
                </td>
                <td data-label="Channels">
                  {n.channels
                    .map((c) =>
                      c.type === 'email'
                        ? 'email'
                        : c.type === 'webhook'
                          ? `webhook (${hostOf(c.url)})`
                          : (saved.data?.data.find((s) => s.id === c.id)?.name ?? 'saved channel'),
                    )
                    .join(', ')}
                </td>
                <td data-label="Last fired">
                  {n.last_fired_at ? (
                    <time dateTime={n.last_fired_at} title={formatFull(n.last_fired_at)}>
                      {formatRelative(n.last_fired_at, now)}
                    </time>
                  ) : (
                    <span className="muted">never</span>
                  )}
                  {n.fire_count > 0 && <small className="muted block">{n.fire_count}× in all</small>}
                </td>
                <td className="row-actions">
                  {(n.status === 'active' || n.status === 'paused') && (
                    <button
                      type="button"
                      onClick={() => pause.mutate(n)}
                      disabled={pause.isPending && pause.variables?.id === n.id}
                      aria-label={`${n.status === 'paused' ? 'Resume' : 'Pause'} ${n.symbol} ${n.condition_text}`}
                    >
                      {n.status === 'paused' ? 'Resume' : 'Pause'}
                    </button>
                  )}
                  <Link
                    href={paths.notification(n.id)}
                    className="button"
                    aria-label={`Edit ${n.symbol} ${n.condition_text}`}
                  >
                    Edit
                  </Link>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => setDeleting(n)}
                    aria-label={`Delete ${n.symbol} ${n.condition_text}`}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.hasNextPage && (
        <button type="button" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          {list.isFetchingNextPage ? 'Loading…' : 'Show more'}
        </button>
      )}
      <ConfirmDialog
        open={deleting !== undefined}
        title="Delete this notification?"
        confirmLabel="Delete"
        busy={remove.isPending}
        onConfirm={() => deleting && remove.mutate(deleting)}
        onCancel={() => setDeleting(undefined)}
      >
        <p>
          <strong>
            {deleting?.symbol} {deleting?.condition_text}
          </strong>{' '}
          stops watching the price. Its alert history stays.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function hostOf(url: string) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
