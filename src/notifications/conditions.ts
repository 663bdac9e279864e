import type { ConditionKind } from '../db/schema-notifications.ts';

export const CONDITION_KINDS = [
  'above',
  'at_or_above',
  'below',
  'at_or_below',
  'crosses_above',
  'crosses_below',
] as const satisfies readonly ConditionKind[];

const OPERATORS: Record<string, ConditionKind> = {
  '>': 'above',
  '>=': 'at_or_above',
  '<': 'below',
  '<=': 'at_or_below',
};
const SYMBOLS: Record<ConditionKind, string> = {
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

/** The human form shown in lists and messages: `price > 150`. */
export function describeCondition(kind: ConditionKind, threshold: number): string {
  return `price ${SYMBOLS[kind]} ${threshold}`;
}

/**
 * Whether a rule holds for a price, given the previous evaluated price. This is the specification the
 * SQL claim implements with index range scans; tests compare the two.
 */
export function conditionHolds(
  kind: ConditionKind,
  threshold: number,
  price: number,
  previous: number | null,
) {
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
