import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { errorMessage, isApiError } from '../api/client';
import { endpoints, keys } from '../api/endpoints';
import type { Channel, NewNotification, NotificationPatch, NotificationView } from '../api/types';
import { Field, OtherErrors } from '../components/Field';
import { useToast } from '../components/Toasts';
import { formatPrice, toLocalInput } from '../format';
import { BacktestPreview } from './BacktestPreview';
import {
  ConditionParamsFields,
  emptyParams,
  type ParamState,
  ruleBody,
  thresholdLabel,
  usesThreshold,
} from './ConditionFields';

type ConditionKind = NotificationView['condition'];

/** Every condition the API knows (NotificationView['condition'] keeps this list honest). */
const CONDITIONS: Record<ConditionKind, string> = {
  above: 'Price rises above (>)',
  at_or_above: 'Price is at or above (≥)',
  below: 'Price falls below (<)',
  at_or_below: 'Price is at or below (≤)',
  crosses_above: 'Price crosses above',
  crosses_below: 'Price crosses below',
  change_pct_from_close: 'Price moves X% from the previous close',
  move_pct_within: 'Price moves X% within N minutes',
  new_high_52w: 'Price makes a new 52-week high',
  new_low_52w: 'Price makes a new 52-week low',
  sma_cross: 'Fast moving average crosses the slow one',
  volume_spike: 'Volume is k× its recent average',
};
const MAX_WEBHOOKS = 4;

interface FormState {
  symbol: string;
  condition: ConditionKind;
  threshold: string;
  /** The indicator kinds' parameters (direction, window, periods, fast/slow). */
  params: ParamState;
  cooldown: string;
  trigger: 'recurring' | 'once';
  expires: string;
  email: boolean;
  webhooks: string[];
  /** Ids of saved channels (Settings → Channels). */
  saved: string[];
}

function initialState(existing: NotificationView | undefined, symbol: string | undefined): FormState {
  if (!existing)
    return {
      symbol: symbol ?? '',
      condition: 'above',
      threshold: '',
      params: emptyParams(),
      cooldown: '60',
      trigger: 'recurring',
      expires: '',
      email: true,
      webhooks: [],
      saved: [],
    };
  return {
    symbol: existing.symbol,
    condition: existing.condition,
    threshold: usesThreshold(existing.condition) ? String(existing.threshold) : '',
    params: emptyParams(existing),
    cooldown: String(existing.cooldown_minutes),
    trigger: existing.trigger,
    expires: existing.expires_at ? toLocalInput(existing.expires_at) : '',
    email: existing.channels.some((c) => c.type === 'email'),
    webhooks: existing.channels.flatMap((c) => (c.type === 'webhook' ? [c.url] : [])),
    saved: existing.channels.flatMap((c) => (c.type === 'channel' ? [c.id] : [])),
  };
}

/** An empty box is left out (the API's default applies, or it says the field is required). */
const numberOrUndefined = (text: string) => (text.trim() === '' ? undefined : Number(text));

/**
 * Create or edit a notification with every option of the API. No validation of our own: the form sends
 * what was entered and shows the API's 422 messages beside the fields they name.
 */
export function NotificationForm(props: {
  existing?: NotificationView;
  symbol?: string;
  onDone: (saved: NotificationView) => void;
  onCancel?: () => void;
}) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [form, setForm] = useState(() => initialState(props.existing, props.symbol));
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) =>
    setForm((f) => ({ ...f, [key]: value }));
  const symbols = useQuery({ queryKey: keys.symbols, queryFn: endpoints.symbols });
  const savedChannels = useQuery({ queryKey: keys.channels, queryFn: endpoints.channels });
  const current = symbols.data?.data.find((s) => s.symbol === form.symbol.trim().toUpperCase());

  const channels = (): Channel[] => [
    ...(form.email ? [{ type: 'email' as const }] : []),
    ...form.webhooks.map((url) => ({ type: 'webhook' as const, url: url.trim() })),
    ...form.saved.map((id) => ({ type: 'channel' as const, id })),
  ];

  const save = useMutation({
    mutationFn: async (): Promise<NotificationView> => {
      const cooldown = numberOrUndefined(form.cooldown);
      const expires = form.expires ? new Date(form.expires).toISOString() : null;
      if (!props.existing) {
        const body: NewNotification = {
          symbol: form.symbol.trim(),
          ...ruleBody(form.condition, form.threshold, form.params),
          ...(cooldown !== undefined && { cooldown_minutes: cooldown }),
          trigger: form.trigger,
          ...(expires && { expires_at: expires }),
          channels: channels(),
        };
        return (await endpoints.createNotification(body)).notification;
      }
      // Only what changed: changing the condition, threshold or trigger re-arms a rule on the server.
      const before = initialState(props.existing, undefined);
      const patch: NotificationPatch = {};
      // The condition goes whole (kind, threshold, parameters) when any part of it changed.
      const rule = ruleBody(form.condition, form.threshold, form.params);
      if (
        JSON.stringify(rule) !== JSON.stringify(ruleBody(before.condition, before.threshold, before.params))
      )
        Object.assign(patch, rule);
      if (form.cooldown !== before.cooldown && cooldown !== undefined) patch.cooldown_minutes = cooldown;
      if (form.trigger !== before.trigger) patch.trigger = form.trigger;
      if (form.expires !== before.expires) patch.expires_at = expires;
      if (JSON.stringify(channels()) !== JSON.stringify(props.existing.channels)) patch.channels = channels();
      return endpoints.updateNotification(props.existing.id, patch);
    },
    onSuccess: async (saved) => {
      toast({
        kind: 'info',
        title: props.existing ? 'Notification saved' : 'Notification created',
        body: `${saved.symbol} ${saved.condition_text}`,
      });
      await queryClient.invalidateQueries({ queryKey: keys.notifications });
      props.onDone(saved);
    },
  });

  const errors = isApiError(save.error, 422) ? save.error.fieldErrors : {};
  const at = (pointer: string) =>
    Object.entries(errors)
      .filter(([p]) => p === pointer || p.startsWith(`${pointer}/`))
      .map(([, detail]) => detail)
      .join('; ') || undefined;
  // /channels/N points at the Nth channel sent: email (when ticked) comes first, then the webhooks.
  const webhookError = (index: number) => at(`/channels/${index + (form.email ? 1 : 0)}`);
  const claimed = (pointer: string) =>
    [
      '/symbol',
      '/condition',
      '/threshold',
      '/direction',
      '/window_minutes',
      '/periods',
      '/fast',
      '/slow',
      '/cooldown_minutes',
      '/trigger',
      '/expires_at',
      '/channels',
    ].some((p) => pointer === p || pointer.startsWith(`${p}/`));
  const channelsError = errors['/channels'];

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <form
      onSubmit={onSubmit}
      noValidate
      className="form notification-form"
      aria-label={props.existing ? 'Edit notification' : 'New notification'}
    >
      <div className="form-grid">
        <Field
          label="Symbol"
          error={at('/symbol')}
          hint={props.existing ? 'The symbol of a notification stays.' : undefined}
        >
          {(a) => (
            <>
              <input
                {...a}
                value={form.symbol}
                onChange={(e) => set('symbol', e.target.value.toUpperCase())}
                list="known-symbols"
                autoCapitalize="characters"
                autoComplete="off"
                spellCheck={false}
                disabled={Boolean(props.existing)}
                placeholder="AAPL"
              />
              <datalist id="known-symbols">
                {symbols.data?.data.map((s) => (
                  <option key={s.symbol} value={s.symbol} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field label="Condition" error={at('/condition')}>
          {(a) => (
            <select
              {...a}
              value={form.condition}
              onChange={(e) => set('condition', e.target.value as ConditionKind)}
            >
              {Object.entries(CONDITIONS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        {usesThreshold(form.condition) && (
          <Field
            label={thresholdLabel(form.condition)}
            error={at('/threshold')}
            hint={
              thresholdLabel(form.condition) !== 'Threshold'
                ? undefined
                : current
                  ? `Now ${formatPrice(current.price)}`
                  : form.condition.startsWith('crosses')
                    ? 'Fires when the price moves through it.'
                    : undefined
            }
          >
            {(a) => (
              <input
                {...a}
                type="number"
                inputMode="decimal"
                step="any"
                value={form.threshold}
                onChange={(e) => set('threshold', e.target.value)}
                placeholder={thresholdLabel(form.condition) === 'Threshold' ? '150' : '3'}
              />
            )}
          </Field>
        )}
        <ConditionParamsFields
          condition={form.condition}
          params={form.params}
          onChange={(params) => set('params', params)}
          error={at}
        />
        <Field
          label="Cooldown (minutes)"
          error={at('/cooldown_minutes')}
          hint="Quiet time after each alert: 0 fires on every qualifying price, at most 10080 (a week)."
        >
          {(a) => (
            <input
              {...a}
              type="number"
              inputMode="numeric"
              step="1"
              value={form.cooldown}
              onChange={(e) => set('cooldown', e.target.value)}
            />
          )}
        </Field>
      </div>

      <fieldset className="field" aria-describedby={at('/trigger') ? 'trigger-error' : undefined}>
        <legend>Trigger</legend>
        <label className="inline">
          <input
            type="radio"
            name="trigger"
            checked={form.trigger === 'recurring'}
            onChange={() => set('trigger', 'recurring')}
          />{' '}
          Every time (after the cooldown)
        </label>
        <label className="inline">
          <input
            type="radio"
            name="trigger"
            checked={form.trigger === 'once'}
            onChange={() => set('trigger', 'once')}
          />{' '}
          Once, then stop
        </label>
        {at('/trigger') && (
          <small id="trigger-error" className="field-error">
            {at('/trigger')}
          </small>
        )}
      </fieldset>

      <BacktestPreview
        rule={{
          symbol: form.symbol,
          ...ruleBody(form.condition, form.threshold, form.params),
          ...(numberOrUndefined(form.cooldown) !== undefined && {
            cooldown_minutes: numberOrUndefined(form.cooldown),
          }),
          trigger: form.trigger,
        }}
      />

      <Field label="Expires" error={at('/expires_at')} hint="Leave empty to keep it until you delete it.">
        {(a) => (
          <div className="input-with-button">
            <input
              {...a}
              type="datetime-local"
              value={form.expires}
              onChange={(e) => set('expires', e.target.value)}
            />
            {form.expires && (
              <button type="button" onClick={() => set('expires', '')}>
                Never
              </button>
            )}
          </div>
        )}
      </Field>

      <fieldset
        className={`field${channelsError ? ' field-invalid' : ''}`}
        aria-describedby={channelsError ? 'channels-error' : undefined}
      >
        <legend>Channels</legend>
        <label className="inline">
          <input type="checkbox" checked={form.email} onChange={(e) => set('email', e.target.checked)} />{' '}
          Email to my account address
        </label>
        {form.email && at(`/channels/0`) && <small className="field-error">{at('/channels/0')}</small>}
        {form.webhooks.map((url, i) => (
          <Field
            // biome-ignore lint/suspicious/noArrayIndexKey: webhooks are edited in place, by position
            key={i}
            label={`Webhook URL ${form.webhooks.length > 1 ? i + 1 : ''}`.trim()}
            error={webhookError(i)}
          >
            {(a) => (
              <div className="input-with-button">
                <input
                  {...a}
                  type="url"
                  inputMode="url"
                  value={url}
                  placeholder="https://hooks.example.com/stockwatch"
                  onChange={(e) =>
                    set(
                      'webhooks',
                      form.webhooks.map((w, j) => (j === i ? e.target.value : w)),
                    )
                  }
                />
                <button
                  type="button"
                  onClick={() =>
                    set(
                      'webhooks',
                      form.webhooks.filter((_, j) => j !== i),
                    )
                  }
                >
                  Remove
                </button>
              </div>
            )}
          </Field>
        ))}
        {form.webhooks.length < MAX_WEBHOOKS && (
          <button
            type="button"
            className="link-button"
            onClick={() => set('webhooks', [...form.webhooks, ''])}
          >
            + Add a webhook
          </button>
        )}
        {savedChannels.data?.data.map((c) => (
          <label className="inline" key={c.id}>
            <input
              type="checkbox"
              checked={form.saved.includes(c.id)}
              onChange={(e) =>
                set(
                  'saved',
                  e.target.checked ? [...form.saved, c.id] : form.saved.filter((id) => id !== c.id),
                )
              }
            />{' '}
            {c.name} <span className="muted">({c.type})</span>
          </label>
        ))}
        <small className="hint">
          Webhooks are signed with your secret. Save ntfy, Slack, Discord or Telegram channels in Settings.
        </small>
        {channelsError && (
          <small id="channels-error" className="field-error">
            {channelsError}
          </small>
        )}
      </fieldset>

      <OtherErrors errors={errors} shown={claimed} />
      {save.error && !isApiError(save.error, 422) && (
        <p className="form-error" role="alert">
          {errorMessage(save.error)}
        </p>
      )}
      {isApiError(save.error, 422) && (
        <p className="form-error" role="alert">
          Please correct the fields marked above.
        </p>
      )}
      <div className="actions">
        {props.onCancel && (
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : props.existing ? 'Save changes' : 'Create notification'}
        </button>
      </div>
    </form>
  );
}
