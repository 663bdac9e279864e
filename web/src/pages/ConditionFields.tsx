import type { NewNotification, NotificationView } from '../api/types';
import { Field } from '../components/Field';

type ConditionKind = NotificationView['condition'];
type Direction = NonNullable<NotificationView['direction']>;

/** The indicator kinds' parameters as typed in the form (empty = left to the API's default). */
export interface ParamState {
  direction: Direction | '';
  window: string;
  periods: string;
  fast: string;
  slow: string;
}

export const emptyParams = (existing?: NotificationView): ParamState => ({
  direction: existing?.direction ?? '',
  window: existing?.window_minutes === undefined ? '' : String(existing.window_minutes),
  periods: existing?.periods === undefined ? '' : String(existing.periods),
  fast: existing?.fast === undefined ? '' : String(existing.fast),
  slow: existing?.slow === undefined ? '' : String(existing.slow),
});

/** Which parameters each kind takes (the server refuses the others with a 422). */
const FIELDS: Partial<Record<ConditionKind, ReadonlyArray<keyof ParamState>>> = {
  change_pct_from_close: ['direction'],
  move_pct_within: ['direction', 'window'],
  sma_cross: ['direction', 'fast', 'slow'],
  volume_spike: ['periods'],
};

/** 52-week extremes and SMA crossings are events: they take no threshold. */
export const usesThreshold = (kind: ConditionKind) =>
  kind !== 'new_high_52w' && kind !== 'new_low_52w' && kind !== 'sma_cross';

export function thresholdLabel(kind: ConditionKind) {
  if (kind === 'change_pct_from_close' || kind === 'move_pct_within') return 'Percent';
  if (kind === 'volume_spike') return 'Multiple of the average volume (k)';
  return 'Threshold';
}

const number = (text: string) => (text.trim() === '' ? undefined : Number(text));

/**
 * The condition part of a request body: the kind, its threshold when it takes one, and only the
 * parameters it uses, so that switching kinds never sends a field the server would refuse.
 */
export function ruleBody(condition: ConditionKind, threshold: string, p: ParamState) {
  const fields = FIELDS[condition] ?? [];
  const body: Pick<
    NewNotification,
    'condition' | 'threshold' | 'direction' | 'window_minutes' | 'periods' | 'fast' | 'slow'
  > = { condition };
  const t = usesThreshold(condition) ? number(threshold) : undefined;
  if (t !== undefined) body.threshold = t;
  if (fields.includes('direction') && p.direction) body.direction = p.direction;
  if (fields.includes('window') && number(p.window) !== undefined) body.window_minutes = number(p.window);
  if (fields.includes('periods') && number(p.periods) !== undefined) body.periods = number(p.periods);
  if (fields.includes('fast') && number(p.fast) !== undefined) body.fast = number(p.fast);
  if (fields.includes('slow') && number(p.slow) !== undefined) body.slow = number(p.slow);
  return body;
}

/** The extra inputs of the indicator kinds; nothing for the level kinds. */
export function ConditionParamsFields(props: {
  condition: ConditionKind;
  params: ParamState;
  onChange: (params: ParamState) => void;
  error: (pointer: string) => string | undefined;
}) {
  const fields = FIELDS[props.condition] ?? [];
  const set = (key: keyof ParamState, value: string) => props.onChange({ ...props.params, [key]: value });
  // The render function each Field gets (not a component: it must not remount as the user types).
  const numberInput =
    (key: 'window' | 'periods' | 'fast' | 'slow', placeholder: string) =>
    (a: { id: string; 'aria-invalid': boolean; 'aria-describedby': string | undefined }) => (
      <input
        {...a}
        type="number"
        inputMode="numeric"
        step="1"
        min="1"
        value={props.params[key]}
        placeholder={placeholder}
        onChange={(e) => set(key, e.target.value)}
      />
    );
  const sma = props.condition === 'sma_cross';
  return (
    <>
      {fields.includes('direction') && (
        <Field label="Direction" error={props.error('/direction')}>
          {(a) => (
            <select {...a} value={props.params.direction} onChange={(e) => set('direction', e.target.value)}>
              {!sma && <option value="">Up or down (default)</option>}
              {sma && <option value="">Fast crosses above (default)</option>}
              <option value="up">{sma ? 'Fast crosses above' : 'Up'}</option>
              <option value="down">{sma ? 'Fast crosses below' : 'Down'}</option>
              {!sma && <option value="either">Up or down</option>}
            </select>
          )}
        </Field>
      )}
      {fields.includes('window') && (
        <Field label="Within (minutes)" error={props.error('/window_minutes')} hint="1 to 1440 (a day).">
          {numberInput('window', '15')}
        </Field>
      )}
      {fields.includes('periods') && (
        <Field label="Average of the last N bars" error={props.error('/periods')} hint="Default 20.">
          {numberInput('periods', '20')}
        </Field>
      )}
      {fields.includes('fast') && (
        <Field label="Fast SMA (bars)" error={props.error('/fast')}>
          {numberInput('fast', '50')}
        </Field>
      )}
      {fields.includes('slow') && (
        <Field label="Slow SMA (bars)" error={props.error('/slow')}>
          {numberInput('slow', '200')}
        </Field>
      )}
    </>
  );
}
