import type { Interval } from '@server/prices/prices.schemas';
import {
  CandlestickSeries,
  ColorType,
  createChart,
  createSeriesMarkers,
  HistogramSeries,
  type IChartApi,
  type IPriceLine,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  LineSeries,
  LineStyle,
  type SeriesMarker,
  type SeriesType,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useRef, useState } from 'react';
import type { AlertView, HistoryResponse, NotificationView, PriceEvent } from '../api/types';
import { formatPrice } from '../format';
import { useLivePrices } from '../live/live';
import type { Theme } from '../theme';

export type ChartKind = 'line' | 'candles';

/** Seconds per bucket of each interval the API knows (typed by the server's own list). */
const BUCKET_SECONDS: Record<Interval, number> = {
  '1m': 60,
  '5m': 300,
  '15m': 900,
  '1h': 3600,
  '1d': 86_400,
  '1w': 604_800,
};

interface Plot {
  series: ISeriesApi<'Line'> | ISeriesApi<'Candlestick'>;
  markers: ISeriesMarkersPluginApi<Time>;
  /** What the chart shows, extended in place by live prices. */
  bars: Bar[];
  /** False once the series is removed from the chart: nothing may be done with it any more. */
  alive: boolean;
}

interface Bar {
  time: UTCTimestamp;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

const PALETTE = {
  light: {
    bg: '#ffffff',
    text: '#3d4451',
    grid: '#eef0f3',
    up: '#0f7b4b',
    down: '#c0362c',
    line: '#1f6feb',
    muted: '#8a93a3',
  },
  dark: {
    bg: '#151a21',
    text: '#c9d1d9',
    grid: '#222a33',
    up: '#3fb97f',
    down: '#ff6b5e',
    line: '#58a6ff',
    muted: '#6e7681',
  },
};

const tickTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const tickDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const tickMonth = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric' });
const crosshairTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const toDate = (time: Time) => new Date((time as number) * 1000);
const removedCharts = new WeakSet<IChartApi>();

/**
 * The price history of one symbol with lightweight-charts: a line or candles above, volume below, the
 * user's thresholds as dashed price lines and the alerts as markers where they fired. New prices from
 * the live stream extend the last bucket (or start the next one). Times are shown in local time.
 */
export function PriceChart(props: {
  symbol: string;
  history: HistoryResponse;
  kind: ChartKind;
  theme: Theme;
  notifications: readonly NotificationView[];
  alerts: readonly AlertView[];
  /** Where a rule being edited would have fired (the backtest), marked like alerts. */
  marks?: readonly { timestamp: string; price: number; detail: string }[];
  /** Follow live prices: only when the range ends now. */
  live: boolean;
}) {
  const container = useRef<HTMLDivElement>(null);
  const [chart, setChart] = useState<IChartApi | undefined>();
  // The series of the current data and kind; lines and markers are drawn on it.
  const [plot, setPlot] = useState<Plot | undefined>();
  const colors = PALETTE[props.theme];
  const bucket = props.history.interval === 'raw' ? 1 : BUCKET_SECONDS[props.history.interval];

  // The chart itself, once per mount.
  useEffect(() => {
    if (!container.current) return;
    const c = createChart(container.current, {
      autoSize: true,
      localization: { timeFormatter: (time: Time) => crosshairTime.format(toDate(time)) },
      timeScale: {
        timeVisible: true,
        secondsVisible: false,
        // Room on the right for the newest bar's marker and for what the live stream adds.
        rightOffset: 8,
        tickMarkFormatter: (time: Time, type: number) =>
          (type <= 1 ? tickMonth : type === 2 ? tickDay : tickTime).format(toDate(time)),
      },
      rightPriceScale: { borderVisible: false },
    });
    setChart(c);
    return () => {
      setChart(undefined);
      removedCharts.add(c);
      c.remove();
    };
  }, []);

  useEffect(() => {
    chart?.applyOptions({
      layout: {
        background: { type: ColorType.Solid, color: colors.bg },
        textColor: colors.text,
        panes: { separatorColor: colors.grid },
      },
      grid: { vertLines: { color: colors.grid }, horzLines: { color: colors.grid } },
    });
  }, [chart, colors]);

  // The series, again when the kind or the data changes.
  useEffect(() => {
    if (!chart) return;
    const bars = toBars(props.history);
    const series =
      props.kind === 'line'
        ? chart.addSeries(LineSeries, { color: colors.line, lineWidth: 2 })
        : chart.addSeries(CandlestickSeries, {
            upColor: colors.up,
            downColor: colors.down,
            wickUpColor: colors.up,
            wickDownColor: colors.down,
            borderVisible: false,
          });
    const volume = chart.addSeries(
      HistogramSeries,
      { priceFormat: { type: 'volume' }, priceLineVisible: false },
      1,
    );
    const [pricePane, volumePane] = chart.panes();
    pricePane?.setStretchFactor(1);
    volumePane?.setStretchFactor(0.3);
    setAll(series, volume, bars, props.kind, colors);
    const markers = createSeriesMarkers(series as ISeriesApi<SeriesType>, []);
    chart.timeScale().fitContent();
    const current: Plot = { series, markers, bars, alive: true };
    setPlot(current);
    return () => {
      current.alive = false;
      setPlot(undefined);
      // On unmount the chart goes first (effects clean up in order), taking its series with it.
      if (removedCharts.has(chart)) return;
      markers.detach();
      chart.removeSeries(series);
      chart.removeSeries(volume);
    };
  }, [chart, props.history, props.kind, colors]);

  // Thresholds as dashed lines.
  useEffect(() => {
    if (!plot) return;
    const lines: IPriceLine[] = props.notifications.map((n) =>
      plot.series.createPriceLine({
        price: n.threshold,
        color: n.status === 'active' ? colors.line : colors.muted,
        lineWidth: 1,
        lineStyle: LineStyle.Dashed,
        axisLabelVisible: true,
        title: `${n.condition_text.replace(/^price /, '')}${n.status === 'active' ? '' : ` (${n.status})`}`,
      }),
    );
    return () => {
      // Lines of a removed series went with it.
      if (plot.alive) for (const line of lines) plot.series.removePriceLine(line);
    };
  }, [plot, props.notifications, colors]);

  // Alerts where they fired, and the backtest's firings.
  useEffect(() => {
    if (!plot) return;
    const first = plot.bars[0]?.time ?? 0;
    const alerts = props.alerts.map((a) => {
      const rising = a.condition.includes('above');
      return {
        time: bucketOf(Date.parse(a.price_at) / 1000, bucket),
        position: rising ? 'aboveBar' : 'belowBar',
        shape: rising ? 'arrowDown' : 'arrowUp',
        color: rising ? colors.up : colors.down,
        text: `${a.condition_text.replace(/^price /, '')} @ ${formatPrice(a.price)}`,
      } satisfies SeriesMarker<Time>;
    });
    // A firing per bucket at most: hundreds of markers on one bar would hide the chart.
    const seen = new Set<number>();
    const marks = (props.marks ?? []).flatMap((m) => {
      const time = bucketOf(Date.parse(m.timestamp) / 1000, bucket);
      if (seen.has(time)) return [];
      seen.add(time);
      return [
        {
          time,
          position: 'aboveBar',
          shape: 'circle',
          color: colors.line,
          text: props.marks!.length <= 40 ? m.detail : '',
        } satisfies SeriesMarker<Time>,
      ];
    });
    plot.markers.setMarkers(
      [...alerts, ...marks].filter((m) => m.time >= first).sort((x, y) => x.time - y.time),
    );
  }, [plot, props.alerts, props.marks, bucket, colors]);

  useLivePrices((event: PriceEvent) => {
    if (!props.live || event.symbol !== props.symbol || !plot) return;
    const { bars } = plot;
    const time = bucketOf(Date.parse(event.timestamp) / 1000, bucket);
    const last = bars.at(-1);
    if (last && time < last.time) return;
    const bar: Bar =
      last && last.time === time
        ? {
            ...last,
            close: event.price,
            high: Math.max(last.high, event.price),
            low: Math.min(last.low, event.price),
          }
        : {
            time,
            open: last?.close ?? event.price,
            high: event.price,
            low: event.price,
            close: event.price,
            volume: 0,
          };
    if (last && last.time === time) bars[bars.length - 1] = bar;
    else bars.push(bar);
    if (props.kind === 'line') (plot.series as ISeriesApi<'Line'>).update({ time, value: bar.close });
    else (plot.series as ISeriesApi<'Candlestick'>).update(bar);
  });

  const first = props.history.data[0];
  const last = props.history.data.at(-1);
  return (
    <div
      ref={container}
      className="chart"
      role="img"
      aria-label={
        first && last
          ? `${props.kind === 'line' ? 'Line' : 'Candlestick'} chart of ${props.symbol} from ${crosshairTime.format(new Date(first.timestamp))} to ${crosshairTime.format(new Date(last.timestamp))}, with volume below`
          : `Chart of ${props.symbol}`
      }
      data-points={props.history.data.length}
    />
  );
}

function bucketOf(seconds: number, bucket: number) {
  return (Math.floor(seconds / bucket) * bucket) as UTCTimestamp;
}

function toBars(history: HistoryResponse): Bar[] {
  const out: Bar[] = [];
  for (const p of history.data) {
    const time = Math.floor(Date.parse(p.timestamp) / 1000) as UTCTimestamp;
    const bar: Bar = {
      time,
      open: p.open ?? p.price,
      high: p.high ?? p.price,
      low: p.low ?? p.price,
      close: p.price,
      volume: p.volume,
    };
    // The chart needs strictly increasing times: two raw prices in one second keep the later.
    if (out.at(-1)?.time === time) out[out.length - 1] = bar;
    else out.push(bar);
  }
  return out;
}

function setAll(
  series: ISeriesApi<'Line'> | ISeriesApi<'Candlestick'>,
  vol: ISeriesApi<'Histogram'>,
  bars: Bar[],
  kind: ChartKind,
  colors: (typeof PALETTE)['light'],
) {
  if (kind === 'line')
    (series as ISeriesApi<'Line'>).setData(bars.map((b) => ({ time: b.time, value: b.close })));
  else (series as ISeriesApi<'Candlestick'>).setData(bars);
  vol.setData(
    bars.map((b) => ({
      time: b.time,
      value: b.volume,
      color: `${b.close >= b.open ? colors.up : colors.down}80`,
    })),
  );
}
