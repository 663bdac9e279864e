import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { endpoints, keys } from '../api/endpoints';
import type { SymbolSummary } from '../api/types';
import { Sparkline } from '../components/Sparkline';
import { Empty, ErrorState, Loading } from '../components/States';
import {
  direction,
  formatChange,
  formatFull,
  formatPercent,
  formatPrice,
  formatRelative,
  formatWhen,
} from '../format';
import { useDocumentTitle, useFlash, useNow } from '../hooks';
import { useLiveSymbols, usePollInterval } from '../live/live';
import { paths } from '../routes';

/** Every symbol with its last price, its change since the previous close and a day's sparkline, live. */
export function WatchlistPage() {
  useDocumentTitle('Watchlist');
  const poll = usePollInterval(5 * 60_000);
  const symbols = useQuery({ queryKey: keys.symbols, queryFn: endpoints.symbols, refetchInterval: poll });
  const status = useQuery({
    queryKey: keys.clientStatus,
    queryFn: endpoints.clientStatus,
    refetchInterval: 60_000,
    staleTime: 30_000,
  });
  useLiveSymbols(symbols.data?.data.map((s) => s.symbol) ?? []);
  const now = useNow(5000);

  const refreshed = new Map(status.data?.symbols.map((s) => [s.symbol, s]));

  return (
    <section>
      <div className="page-head">
        <h1>Watchlist</h1>
        <p className="muted">Change since the previous close. Prices update as they arrive.</p>
      </div>
      {symbols.isPending ? (
        <Loading label="Loading prices…" />
      ) : symbols.isError ? (
        <ErrorState error={symbols.error} onRetry={() => void symbols.refetch()} />
      ) : symbols.data.data.length === 0 ? (
        <Empty title="No prices yet">
          <p>
            The market-data client has not posted any price. With the built-in simulator the first ones arrive
            within seconds; otherwise check <code>stockwatch client</code>.
          </p>
        </Empty>
      ) : (
        <table className="watchlist">
          <caption className="visually-hidden">
            Symbols, their last price and change since the previous close
          </caption>
          <thead>
            <tr>
              <th scope="col">Symbol</th>
              <th scope="col" className="num">
                Last
              </th>
              <th scope="col" className="num">
                Change
              </th>
              <th scope="col" className="num">
                Change %
              </th>
              <th scope="col" className="spark-col">
                <span className="visually-hidden">Last 24 hours</span>
              </th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {symbols.data.data.map((s) => (
              <WatchRow
                key={s.symbol}
                summary={s}
                now={now}
                refreshedAt={refreshed.get(s.symbol)?.last_success_at ?? null}
                problem={refreshed.get(s.symbol)?.error ?? null}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function WatchRow(props: {
  summary: SymbolSummary;
  now: number;
  refreshedAt: string | null;
  problem: string | null;
}) {
  const { summary: s } = props;
  const history = useQuery({
    queryKey: keys.sparkline(s.symbol),
    queryFn: () => endpoints.history(s.symbol, { max_points: 48 }),
    staleTime: 5 * 60_000,
    refetchInterval: 5 * 60_000,
  });
  const flash = useFlash(s.price);
  const trend = direction(s.change);
  const points = history.data?.data.map((p) => p.price) ?? [];
  const last = history.data?.data.at(-1);
  // The sparkline ends at the live price rather than at the last bucket of the history.
  const values =
    last && last.timestamp < s.timestamp ? [...points, s.price] : [...points.slice(0, -1), s.price];
  const updatedTitle = [
    `Price of ${formatFull(s.timestamp)}`,
    props.refreshedAt &&
      `refreshed by the market-data client ${formatRelative(props.refreshedAt, props.now)}`,
    props.problem && `problem: ${props.problem}`,
  ]
    .filter(Boolean)
    .join('; ');

  return (
    <tr className={`trend-${trend}`} data-symbol={s.symbol}>
      <th scope="row">
        <Link href={paths.symbol(s.symbol)} className="row-link">
          {s.symbol}
        </Link>
      </th>
      <td className={`num price${flash ? ' flash' : ''}`}>{formatPrice(s.price)}</td>
      <td className="num change">
        <span className="visually-hidden">{trend === 'up' ? 'up ' : trend === 'down' ? 'down ' : ''}</span>
        {formatChange(s.change)}
      </td>
      <td className="num change-percent">{formatPercent(s.change_percent)}</td>
      <td className="spark-col">
        <Sparkline values={values} trend={trend} />
      </td>
      <td className="updated">
        <time dateTime={s.timestamp} title={updatedTitle}>
          {formatWhen(s.timestamp)}
        </time>
        {props.problem && (
          <span className="badge badge-failed" title={props.problem}>
            stale
          </span>
        )}
      </td>
    </tr>
  );
}
