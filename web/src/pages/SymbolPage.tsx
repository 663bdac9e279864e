import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link } from 'wouter';
import { endpoints, keys } from '../api/endpoints';
import type { HistoryQuery } from '../api/types';
import { Empty, ErrorState, Loading } from '../components/States';
import {
  direction,
  formatChange,
  formatDateTime,
  formatPercent,
  formatPrice,
  formatVolume,
  formatWhen,
  toLocalInput,
} from '../format';
import { useDocumentTitle } from '../hooks';
import { useLiveSymbols, usePollInterval } from '../live/live';
import { paths } from '../routes';
import { useTheme } from '../theme';
import { type ChartKind, PriceChart } from './PriceChart';

const DAY = 86_400_000;
const RANGES = {
  '1D': { span: DAY, interval: '5m' },
  '5D': { span: 5 * DAY, interval: '15m' },
  '1M': { span: 30 * DAY, interval: '1h' },
  '6M': { span: 182 * DAY, interval: '1d' },
  '1Y': { span: 365 * DAY, interval: '1d' },
} as const satisfies Record<string, { span: number; interval: HistoryQuery['interval'] }>;
type RangeName = keyof typeof RANGES | 'custom';

/** One symbol: price, change, chart with ranges, thresholds and fired alerts. Loaded lazily. */
export default function SymbolPage({ symbol }: { symbol: string }) {
  useDocumentTitle(symbol);
  useLiveSymbols([symbol]);
  const theme = useTheme();
  const poll = usePollInterval(60_000);
  const pollSummary = usePollInterval(5 * 60_000);
  const [range, setRange] = useState<RangeName>('1D');
  const [kind, setKind] = useState<ChartKind>('line');
  const [custom, setCustom] = useState(() => ({
    start: toLocalInput(new Date(Date.now() - 3 * DAY)),
    end: toLocalInput(new Date()),
  }));

  const summary = useQuery({
    queryKey: keys.symbols,
    queryFn: endpoints.symbols,
    refetchInterval: pollSummary,
    select: (list) => list.data.find((s) => s.symbol === symbol),
  });
  const rangeKey = range === 'custom' ? `custom:${custom.start}:${custom.end}` : range;
  const history = useQuery({
    queryKey: keys.history(symbol, rangeKey),
    queryFn: ({ signal }) => {
      const query: HistoryQuery =
        range === 'custom'
          ? {
              start_time: new Date(custom.start).toISOString(),
              end_time: new Date(custom.end).toISOString(),
              max_points: 800,
            }
          : {
              start_time: new Date(Date.now() - RANGES[range].span).toISOString(),
              interval: RANGES[range].interval,
              max_points: 1000,
            };
      return endpoints.history(symbol, query, signal);
    },
    placeholderData: keepPreviousData,
    refetchInterval: range === 'custom' ? false : poll,
  });
  const notifications = useQuery({
    queryKey: keys.notificationsOf(symbol),
    queryFn: () => endpoints.notifications({ symbol, limit: 200 }),
    select: (page) => page.data,
  });
  // GET /alerts has no symbol filter: the newest 200 of the user's alerts, this symbol's kept.
  const alerts = useQuery({
    queryKey: [...keys.alerts, 'chart'],
    queryFn: () => endpoints.alerts({ limit: 200 }),
    select: (page) => page.data.filter((a) => a.symbol === symbol),
  });

  const s = summary.data;
  const trend = direction(s?.change ?? null);
  const data = history.data?.data ?? [];
  const stats =
    data.length > 0
      ? {
          open: data[0]?.open ?? data[0]?.price ?? 0,
          high: Math.max(...data.map((p) => p.high ?? p.price)),
          low: Math.min(...data.map((p) => p.low ?? p.price)),
          volume: data.reduce((sum, p) => sum + p.volume, 0),
        }
      : undefined;

  const applyCustom = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setCustom({ start: String(form.get('start')), end: String(form.get('end')) });
  };

  return (
    <section>
      <p className="breadcrumb">
        <Link href={paths.watchlist}>Watchlist</Link> <span aria-hidden="true">›</span> {symbol}
      </p>
      <div className="page-head symbol-head">
        <h1>{symbol}</h1>
        {s ? (
          <p className={`quote trend-${trend}`}>
            <span className="quote-price">{formatPrice(s.price)}</span>{' '}
            <span className="change">
              {formatChange(s.change)} ({formatPercent(s.change_percent)})
            </span>{' '}
            <span className="muted">
              at <time dateTime={s.timestamp}>{formatWhen(s.timestamp)}</time>
            </span>
          </p>
        ) : summary.isPending ? null : (
          <p className="muted">No price for {symbol} yet.</p>
        )}
        <Link href={`${paths.notifications}?symbol=${encodeURIComponent(symbol)}`} className="button primary">
          New notification
        </Link>
      </div>

      <div className="chart-controls">
        <fieldset className="segmented">
          <legend className="visually-hidden">Range</legend>
          {([...Object.keys(RANGES), 'custom'] as RangeName[]).map((r) => (
            <button key={r} type="button" aria-pressed={range === r} onClick={() => setRange(r)}>
              {r === 'custom' ? 'Custom' : r}
            </button>
          ))}
        </fieldset>
        <fieldset className="segmented">
          <legend className="visually-hidden">Chart type</legend>
          <button type="button" aria-pressed={kind === 'line'} onClick={() => setKind('line')}>
            Line
          </button>
          <button type="button" aria-pressed={kind === 'candles'} onClick={() => setKind('candles')}>
            Candles
          </button>
        </fieldset>
      </div>
      {range === 'custom' && (
        <form className="custom-range" onSubmit={applyCustom}>
          <label>
            From <input type="datetime-local" name="start" defaultValue={custom.start} required />
          </label>
          <label>
            To <input type="datetime-local" name="end" defaultValue={custom.end} required />
          </label>
          <button type="submit">Show</button>
        </form>
      )}

      <div className="chart-card card" aria-busy={history.isFetching}>
        {history.isPending ? (
          <Loading label="Loading the chart…" />
        ) : history.isError ? (
          <ErrorState error={history.error} onRetry={() => void history.refetch()} />
        ) : data.length === 0 ? (
          <Empty title="No prices in this range">
            <p>Pick a longer range, or wait for the market-data client to post prices for {symbol}.</p>
          </Empty>
        ) : (
          <PriceChart
            symbol={symbol}
            history={history.data}
            kind={kind}
            theme={theme}
            notifications={notifications.data ?? []}
            alerts={alerts.data ?? []}
            live={range !== 'custom'}
          />
        )}
      </div>
      {stats && history.data && (
        <dl className="stats">
          <div>
            <dt>Open</dt>
            <dd>{formatPrice(stats.open)}</dd>
          </div>
          <div>
            <dt>High</dt>
            <dd>{formatPrice(stats.high)}</dd>
          </div>
          <div>
            <dt>Low</dt>
            <dd>{formatPrice(stats.low)}</dd>
          </div>
          <div>
            <dt>Volume</dt>
            <dd>{formatVolume(stats.volume)}</dd>
          </div>
          <div>
            <dt>Points</dt>
            <dd>
              {data.length} {history.data.interval === 'raw' ? 'prices' : `× ${history.data.interval}`}
            </dd>
          </div>
          <div>
            <dt>Since</dt>
            <dd>{formatDateTime(history.data.start_time)}</dd>
          </div>
        </dl>
      )}

      <div className="two-col">
        <section className="card">
          <h2>Your notifications on {symbol}</h2>
          {notifications.isPending ? (
            <Loading />
          ) : notifications.isError ? (
            <ErrorState error={notifications.error} />
          ) : notifications.data.length === 0 ? (
            <p className="muted">None yet. Their thresholds appear on the chart as dashed lines.</p>
          ) : (
            <ul className="plain-list">
              {notifications.data.map((n) => (
                <li key={n.id}>
                  <Link href={paths.notification(n.id)}>{n.condition_text}</Link>{' '}
                  <span className={`badge badge-${n.status}`}>{n.status}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="card">
          <h2>Alerts on {symbol}</h2>
          {alerts.isPending ? (
            <Loading />
          ) : alerts.isError ? (
            <ErrorState error={alerts.error} />
          ) : alerts.data.length === 0 ? (
            <p className="muted">No alert has fired for {symbol}. Fired alerts are marked on the chart.</p>
          ) : (
            <ul className="plain-list">
              {alerts.data.slice(0, 8).map((a) => (
                <li key={a.id}>
                  <time dateTime={a.fired_at}>{formatWhen(a.fired_at)}</time> · {a.condition_text} at{' '}
                  {formatPrice(a.price)}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </section>
  );
}
