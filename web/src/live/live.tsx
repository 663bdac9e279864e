import { type QueryClient, useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { keys } from '../api/endpoints';
import type { AlertStreamEvent, NotificationView, PriceEvent, SymbolList } from '../api/types';
import { useToast } from '../components/Toasts';
import { formatPrice } from '../format';
import { paths } from '../routes';

/** `live`: the event stream is open. `polling`: it is not, and queries refresh every 30 s instead. */
export type LiveStatus = 'connecting' | 'live' | 'polling';

/** The seed's fallback: poll every 30 seconds while the stream is down. */
export const POLL_MS = 30_000;
const MAX_BACKOFF_MS = 30_000;

type PriceListener = (event: PriceEvent) => void;
type ConditionKind = NotificationView['condition'];

/**
 * The words of the server's condition texts ("price > 150"), for the toast of an alert. Indicator kinds
 * (change_pct_from_close, sma_cross, …) have none: the toast shows their name.
 */
const OPERATORS: Partial<Record<ConditionKind, string>> = {
  above: '>',
  at_or_above: '>=',
  below: '<',
  at_or_below: '<=',
  crosses_above: 'crosses above',
  crosses_below: 'crosses below',
};

interface Live {
  status: LiveStatus;
  /** Declares the symbols on screen; the stream is re-opened for them (debounced). */
  watch(symbols: readonly string[]): void;
  onPrice(listener: PriceListener): () => void;
}

const LiveContext = createContext<Live | undefined>(undefined);

function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive outside <LiveProvider>');
  return live;
}

export const useLiveStatus = () => useLive().status;

/** A query's refetchInterval: none while the stream is live, 30 s while it is down. */
export function usePollInterval(liveInterval: number | false = false): number | false {
  return useLive().status === 'live' ? liveInterval : POLL_MS;
}

/** Keeps the stream open for these symbols while the calling component is mounted. */
export function useLiveSymbols(symbols: readonly string[]) {
  const live = useLive();
  const key = [...symbols].sort().join(',');
  useEffect(() => {
    if (key) live.watch(key.split(','));
  }, [live, key]);
}

export function useLivePrices(listener: PriceListener) {
  const live = useLive();
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => live.onPrice((e) => ref.current(e)), [live]);
}

/**
 * One EventSource per tab on `/events?symbols=…`. The browser reconnects by itself after a network
 * error; when it gives up (the server answered with an error status) we retry with backoff. While the
 * stream is not open the status is `polling` and queries refresh every 30 s. Each reopening refreshes
 * what may have been missed meanwhile.
 */
export function LiveProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [symbols, setSymbols] = useState<string>('');
  const listeners = useRef(new Set<PriceListener>());

  const live = useMemo<Omit<Live, 'status'>>(
    () => ({
      // A page that needs fewer symbols keeps the open stream: reconnecting costs more than the extra prices.
      watch: (list) =>
        setSymbols((current) => {
          const open = new Set(current.split(','));
          return current && list.every((s) => open.has(s)) ? current : [...list].sort().join(',');
        }),
      onPrice(listener) {
        listeners.current.add(listener);
        return () => listeners.current.delete(listener);
      },
    }),
    [],
  );

  useEffect(() => {
    let source: EventSource | undefined;
    let retryTimer: number | undefined;
    let backoff = 3000;
    let opened = false;
    let stopped = false;

    const connect = () => {
      source = new EventSource(symbols ? `/events?symbols=${encodeURIComponent(symbols)}` : '/events');
      source.addEventListener('open', () => {
        backoff = 3000;
        setStatus('live');
        // After a gap, fetch what the stream did not bring.
        if (opened) void catchUp(queryClient);
        opened = true;
      });
      source.addEventListener('error', () => {
        setStatus('polling');
        if (source?.readyState !== EventSource.CLOSED || stopped) return;
        // The browser gave up (an error status such as 401 or 429): maybe the session ended.
        void queryClient.invalidateQueries({ queryKey: keys.session });
        retryTimer = window.setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      });
      source.addEventListener('price', (message) => {
        const event = parse<PriceEvent>(message);
        if (!event) return;
        applyPrice(queryClient, event);
        for (const l of listeners.current) l(event);
      });
      source.addEventListener('alert', (message) => {
        const event = parse<AlertStreamEvent>(message);
        if (!event) return;
        toast({
          kind: 'alert',
          title: `${event.symbol} at ${formatPrice(event.price)}`,
          body: `Your notification "${event.symbol} price ${OPERATORS[event.condition as ConditionKind] ?? event.condition} ${event.threshold}" fired.`,
          link: { href: paths.alerts, label: 'See alert history' },
        });
        void queryClient.invalidateQueries({ queryKey: keys.alerts });
        void queryClient.invalidateQueries({ queryKey: keys.notifications });
        // The email is sent right after; look again once the notifier has had time to deliver it.
        for (const delay of [1500, 5000]) window.setTimeout(() => void refreshDeliveries(queryClient), delay);
      });
    };

    // Debounced: pages declare their symbols as they mount; open once they have.
    const start = window.setTimeout(connect, 150);
    return () => {
      stopped = true;
      window.clearTimeout(start);
      window.clearTimeout(retryTimer);
      source?.close();
    };
  }, [symbols, queryClient, toast]);

  const value = useMemo(() => ({ ...live, status }), [live, status]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

function parse<T>(message: Event): T | undefined {
  try {
    return JSON.parse((message as MessageEvent<string>).data) as T;
  } catch {
    return undefined;
  }
}

/** A new price moves the watchlist row at once: price, change and change % since the previous close. */
function applyPrice(queryClient: QueryClient, event: PriceEvent) {
  queryClient.setQueryData<SymbolList>(keys.symbols, (list) => {
    if (!list) return list;
    let known = false;
    const data = list.data.map((s) => {
      if (s.symbol !== event.symbol) return s;
      known = true;
      if (s.timestamp > event.timestamp) return s;
      const change = s.previous_close === null ? null : round(event.price - s.previous_close, 4);
      const percent =
        s.previous_close === null || change === null ? null : round((change / s.previous_close) * 100, 4);
      return { ...s, price: event.price, timestamp: event.timestamp, change, change_percent: percent };
    });
    // A symbol nobody had seen yet: the list query brings it with its previous close.
    if (!known) void queryClient.invalidateQueries({ queryKey: keys.symbols });
    return { ...list, data };
  });
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

async function catchUp(queryClient: QueryClient) {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: keys.symbols }),
    queryClient.invalidateQueries({ queryKey: keys.alerts }),
    queryClient.invalidateQueries({ queryKey: ['history'] }),
  ]);
}

async function refreshDeliveries(queryClient: QueryClient) {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: keys.alerts }),
    queryClient.invalidateQueries({ queryKey: keys.mailbox }),
  ]);
}
