import type { ConditionKind, ConditionParams } from '../db/schema-notifications.ts';
import { INDICATOR_KINDS, type IndicatorKind } from './indicators.ts';

/** The seed's conditions: a comparison of the price with `threshold`. */
export const LEVEL_KINDS = [
  'above',
  'at_or_above',
  'below',
  'at_or_below',
  'crosses_above',
  'crosses_below',
] as const satisfies readonly ConditionKind[];
export type LevelKind = (typeof LEVEL_KINDS)[number];

/** Every condition word the API accepts: the level kinds and the indicator kinds (indicators.ts). */
export const CONDITION_KINDS = [
  ...LEVEL_KINDS,
  ...INDICATOR_KINDS,
] as const satisfies readonly ConditionKind[];

const OPERATORS: Record<string, ConditionKind> = {
  '>': 'above',
  '>=': 'at_or_above',
  '<': 'below',
  '<=': 'at_or_below',
};
const SYMBOLS: Record<LevelKind, string> = {
  above: '>',
  at_or_above: '>=',
  below: '<',
  at_or_below: '<=',
  crosses_above: 'crosses above',
  crosses_below: 'crosses below',
};

/**
 * Reads a condition as the seed writes it (`price > 150`, also `>=`, `<`, `<=`, and
 * `price crosses above 150`) or as a word (`above`, `crosses_below`, …).
 * Returns the kind and the number written in the text, if any.
 */
export function parseCondition(text: string): { kind: ConditionKind; number?: number } | undefined {
  const trimmed = text.trim().toLowerCase();
  if ((CONDITION_KINDS as readonly string[]).includes(trimmed)) return { kind: trimmed as ConditionKind };
  const level = /^price\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/.exec(trimmed);
  if (level) return { kind: OPERATORS[level[1]!]!, number: Number(level[2]) };
  const cross = /^price\s+crosses\s+(above|below)\s+(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/.exec(trimmed);
  if (cross) return { kind: `crosses_${cross[1]}` as ConditionKind, number: Number(cross[2]) };
  return undefined;
}

const DIRECTION_WORDS = { up: 'up', down: 'down', either: 'up or down' } as const;

/**
 * The human form shown in lists and messages: `price > 150`, `price 3% up or down from the previous
 * close`. Alerts keep no parameters, so without `params` an indicator is described by its threshold only.
 */
export function describeCondition(kind: ConditionKind, threshold: number, params?: ConditionParams | null) {
  const p = params ?? {};
  const dir = p.direction ? ` ${DIRECTION_WORDS[p.direction]}` : '';
  switch (kind as IndicatorKind | LevelKind) {
    case 'change_pct_from_close':
      return `price ${threshold}%${dir} from the previous close`;
    case 'move_pct_within':
      return `price moves ${threshold}%${dir}${p.window_minutes ? ` within ${p.window_minutes} min` : ''}`;
    case 'new_high_52w':
      return 'new 52-week high';
    case 'new_low_52w':
      return 'new 52-week low';
    case 'sma_cross':
      return p.fast
        ? `SMA ${p.fast} crosses${dir === ' up' ? ' above' : ' below'} SMA ${p.slow}`
        : 'SMA crossing';
    case 'volume_spike':
      return `volume ≥ ${threshold}× average${p.periods ? ` of ${p.periods} bars` : ''}`;
    default:
      return `price ${SYMBOLS[kind as LevelKind]} ${threshold}`;
  }
}

/**
 * Whether a rule holds for a price, given the previous evaluated price. This is the specification the
 * SQL claim implements with index range scans; tests compare the two.
 */
export function conditionHolds(kind: LevelKind, threshold: number, price: number, previous: number | null) {
  switch (kind) {
    case 'above':
      return price > threshold;
    case 'at_or_above':
      return price >= threshold;
    case 'below':
      return price < threshold;
    case 'at_or_below':
      return price <= threshold;
    case 'crosses_above':
      return previous !== null && previous < threshold && price >= threshold;
    case 'crosses_below':
      return previous !== null && previous > threshold && price <= threshold;
  }
}
