import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { errorMessage } from '../api/client';
import { endpoints, keys } from '../api/endpoints';
import type { AlertView, Delivery } from '../api/types';
import { Empty, ErrorState, Loading } from '../components/States';
import { useToast } from '../components/Toasts';
import { formatFull, formatPrice, formatRelative, formatWhen } from '../format';
import { useDocumentTitle, useNow } from '../hooks';
import { usePollInterval } from '../live/live';
import { paths } from '../routes';

const MAX_ATTEMPTS = 3;

/** Every alert that fired, newest first, with each delivery's fate; failed ones can be sent again. */
export function AlertsPage() {
  useDocumentTitle('Alerts');
  const poll = usePollInterval(60_000);
  const list = useInfiniteQuery({
    queryKey: keys.alerts,
    queryFn: ({ pageParam }) => endpoints.alerts(pageParam ? { cursor: pageParam } : {}),
    initialPageParam: '',
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    // Deliveries change without an event: look often while one is on its way.
    refetchInterval: (query) =>
      query.state.data?.pages.some((p) =>
        p.data.some((a) => a.deliveries.some((d) => d.status === 'pending')),
      )
        ? 3000
        : poll,
  });
  const now = useNow(15_000);
  const alerts = list.data?.pages.flatMap((p) => p.data) ?? [];
  const failed = alerts.filter((a) => a.deliveries.some((d) => d.status === 'failed')).length;

  return (
    <section>
      <div className="page-head">
        <h1>Alerts</h1>
        <p className="muted">
          Each time a notification fired, and where the message went.
          {failed > 0 && (
            <strong className="text-failed">
              {' '}
              {failed} {failed === 1 ? 'alert has' : 'alerts have'} a failed delivery.
            </strong>
          )}
        </p>
      </div>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : alerts.length === 0 ? (
        <Empty title="No alert has fired yet">
          <p>
            When a price meets one of your <Link href={paths.notifications}>notifications</Link>, the alert
            shows here and as a message on screen.
          </p>
        </Empty>
      ) : (
        <ol className="alert-list">
          {alerts.map((a) => (
            <AlertItem key={a.id} alert={a} now={now} />
          ))}
        </ol>
      )}
      {list.hasNextPage && (
        <button type="button" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          {list.isFetchingNextPage ? 'Loading…' : 'Show older alerts'}
        </button>
      )}
    </section>
  );
}

function AlertItem({ alert: a, now }: { alert: AlertView; now: number }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const failed = a.deliveries.filter((d) => d.status === 'failed');
  const retry = useMutation({
    mutationFn: () => endpoints.retryAlert(a.id),
    onSuccess: async (result) => {
      toast({
        kind: 'info',
        title: 'Sending again',
        body: `${result.requeued} ${result.requeued === 1 ? 'delivery' : 'deliveries'} queued.`,
      });
      await queryClient.invalidateQueries({ queryKey: keys.alerts });
    },
    onError: (error) => toast({ kind: 'error', title: 'Could not retry', body: errorMessage(error) }),
  });

  return (
    <li className={`card alert-item${failed.length > 0 ? ' has-failed' : ''}`} data-id={a.id}>
      <div className="alert-head">
        <h2>
          <Link href={paths.symbol(a.symbol)}>{a.symbol}</Link> {a.condition_text}
        </h2>
        <time dateTime={a.fired_at} title={formatFull(a.fired_at)}>
          {formatRelative(a.fired_at, now)}
        </time>
      </div>
      <p>
        Price <strong>{formatPrice(a.price)}</strong> at{' '}
        <time dateTime={a.price_at}>{formatWhen(a.price_at)}</time>
        {a.notification_id === null && <span className="muted"> · notification deleted since</span>}
      </p>
      <ul className="deliveries" aria-label="Deliveries">
        {a.deliveries.map((d) => (
          <DeliveryRow key={d.id} delivery={d} now={now} />
        ))}
      </ul>
      {failed.length > 0 && (
        <button type="button" className="primary" onClick={() => retry.mutate()} disabled={retry.isPending}>
          {retry.isPending
            ? 'Queuing…'
            : `Retry ${failed.length === 1 ? 'failed delivery' : `${failed.length} failed deliveries`}`}
        </button>
      )}
    </li>
  );
}

function DeliveryRow({ delivery: d, now }: { delivery: Delivery; now: number }) {
  const channel =
    d.channel.type === 'email'
      ? 'Email'
      : d.channel.type === 'webhook'
        ? `Webhook ${d.channel.url}`
        : (d.channel_name ?? 'Deleted channel');
  return (
    <li className={`delivery delivery-${d.status}`}>
      <span className="delivery-channel">{channel}</span>{' '}
      <span className={`badge badge-${d.status}`}>{d.status}</span>{' '}
      <span className="muted">
        {d.status === 'sent' && d.sent_at
          ? `${formatRelative(d.sent_at, now)}`
          : d.status === 'pending' && d.next_attempt_at
            ? `attempt ${d.attempts + 1} of ${MAX_ATTEMPTS} ${formatRelative(d.next_attempt_at, now)}`
            : `${d.attempts} ${d.attempts === 1 ? 'attempt' : 'attempts'}`}
      </span>
      {d.last_error && (
        <p className={d.status === 'failed' ? 'delivery-error' : 'muted'}>
          {d.status === 'failed' ? 'Failed: ' : 'Last error: '}
          {d.last_error}
        </p>
      )}
    </li>
  );
}
