import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { isApiError } from '../api/client';
import { endpoints } from '../api/endpoints';
import type { BacktestBody } from '../api/types';
import { useTheme } from '../theme';
import { usesThreshold } from './ConditionFields';
import { PriceChart } from './PriceChart';

const DAY = 86_400_000;
/** Wait for a pause in typing before asking: a backtest per keystroke would be wasted work. */
const DEBOUNCE_MS = 400;

/**
 * How often the rule being edited would have fired in the last 30 days (POST /notifications/backtest),
 * with the firings marked on the symbol's chart. Follows the form as the user types.
 */
export function BacktestPreview(props: { rule: BacktestBody }) {
  const theme = useTheme();
  const key = JSON.stringify(props.rule);
  const [debounced, setDebounced] = useState(key);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(key), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [key]);
  const symbol = props.rule.symbol.trim().toUpperCase();
  const ready = symbol !== '';
  // A rule still missing its number (every threshold is a positive number) is not sent: the answer
  // could only be a 422. The form always sends a kind word, never the seed's "price > 150" text.
  // Judged on the rule as it will be sent (the debounced one), and as it is now (for the message).
  const isComplete = (rule: BacktestBody) =>
    !usesThreshold(rule.condition as Parameters<typeof usesThreshold>[0]) ||
    (typeof rule.threshold === 'number' && rule.threshold > 0);
  const complete = isComplete(props.rule);
  const debouncedRule = JSON.parse(debounced) as BacktestBody;

  const backtest = useQuery({
    queryKey: ['backtest', debounced],
    queryFn: ({ signal }) => endpoints.backtest(debouncedRule, signal),
    enabled: ready && complete && isComplete(debouncedRule),
    retry: false,
    placeholderData: keepPreviousData,
  });
  const history = useQuery({
    queryKey: ['backtest-history', symbol],
    queryFn: ({ signal }) =>
      endpoints.history(
        symbol,
        { start_time: new Date(Date.now() - 30 * DAY).toISOString(), interval: '1h', max_points: 1000 },
        signal,
      ),
    enabled: ready,
    retry: false,
    staleTime: 60_000,
  });

  if (!ready) return null;
  const result = backtest.data;
  const stale = debounced !== key || backtest.isFetching;
  return (
    <section className="backtest-preview" aria-live="polite" aria-busy={stale}>
      {!complete ? (
        <p className="muted">Complete the rule to see how often it would have fired.</p>
      ) : backtest.isError && !result ? (
        <p className="muted">
          {isApiError(backtest.error, 404)
            ? `No prices stored for ${symbol} yet.`
            : isApiError(backtest.error, 422)
              ? 'Complete the rule to see how often it would have fired.'
              : 'The backtest is not available right now.'}
        </p>
      ) : result ? (
        <p>
          <strong>
            Would have fired {result.count} {result.count === 1 ? 'time' : 'times'} in the last 30 days
          </strong>{' '}
          <small className="muted">
            ({result.evaluated_points.toLocaleString()} prices judged in {result.took_ms} ms
            {stale ? ', updating…' : ''})
          </small>
        </p>
      ) : (
        <p className="muted">Checking the last 30 days…</p>
      )}
      {history.data && history.data.data.length > 0 && (
        <div className="chart-card">
          <PriceChart
            symbol={symbol}
            history={history.data}
            kind="line"
            theme={theme}
            notifications={[]}
            alerts={[]}
            marks={result?.firings ?? []}
            live={false}
          />
        </div>
      )}
    </section>
  );
}
