import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { errorMessage, isApiError } from '../api/client';
import { endpoints, keys } from '../api/endpoints';
import type { NewChannel, NotificationSettings, SavedChannel } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Field, OtherErrors } from '../components/Field';
import { Empty, ErrorState, Loading } from '../components/States';
import { useToast } from '../components/Toasts';

type ChannelType = SavedChannel['type'];

/** Each type's form: its fields, in the API's names, with what to tell the user about them. */
const FORMS: Record<
  ChannelType,
  {
    label: string;
    fields: Array<{ name: string; label: string; hint?: string; secret?: boolean; optional?: boolean }>;
  }
> = {
  ntfy: {
    label: 'ntfy',
    fields: [
      { name: 'server_url', label: 'Server', hint: 'https://ntfy.sh, or your own server', optional: true },
      { name: 'topic', label: 'Topic', hint: 'Letters, digits, - and _. Anyone who knows it can read it.' },
      {
        name: 'token',
        label: 'Access token',
        hint: 'Only for a protected topic (tk_…).',
        secret: true,
        optional: true,
      },
    ],
  },
  slack: {
    label: 'Slack',
    fields: [
      {
        name: 'webhook_url',
        label: 'Incoming webhook URL',
        hint: 'https://hooks.slack.com/services/…',
        secret: true,
      },
    ],
  },
  discord: {
    label: 'Discord',
    fields: [
      { name: 'webhook_url', label: 'Webhook URL', hint: 'https://discord.com/api/webhooks/…', secret: true },
    ],
  },
  telegram: {
    label: 'Telegram',
    fields: [
      { name: 'bot_token', label: 'Bot token', hint: 'From @BotFather, like 123456:ABC-DEF…', secret: true },
      { name: 'chat_id', label: 'Chat id', hint: 'A numeric id, or @channel for a public channel.' },
    ],
  },
  webhook: {
    label: 'Signed webhook',
    fields: [{ name: 'url', label: 'URL', hint: 'Signed with your webhook secret (below).', secret: true }],
  },
  email: { label: 'Email', fields: [] },
};

const TYPES = Object.keys(FORMS) as ChannelType[];

/** Saved channels: list, add (one form per type), send a test message, delete. */
export function Channels() {
  const queryClient = useQueryClient();
  const toast = useToast();
  const channels = useQuery({ queryKey: keys.channels, queryFn: endpoints.channels });
  const [type, setType] = useState<ChannelType>('ntfy');
  const [name, setName] = useState('');
  const [config, setConfig] = useState<Record<string, string>>({});
  const [deleting, setDeleting] = useState<SavedChannel | undefined>();
  const [outcomes, setOutcomes] = useState<Record<string, { ok: boolean; text: string }>>({});

  const create = useMutation({
    mutationFn: () => {
      const filled = Object.fromEntries(Object.entries(config).filter(([, v]) => v.trim() !== ''));
      return endpoints.createChannel({ type, name: name.trim(), config: filled } as NewChannel);
    },
    onSuccess: async (channel) => {
      setName('');
      setConfig({});
      toast({
        kind: 'info',
        title: 'Channel saved',
        body: `“${channel.name}” can now be chosen by notifications.`,
      });
      await queryClient.invalidateQueries({ queryKey: keys.channels });
    },
  });
  const test = useMutation({
    mutationFn: (channel: SavedChannel) => endpoints.testChannel(channel.id),
    onSuccess: (result, channel) =>
      setOutcomes((o) => ({ ...o, [channel.id]: { ok: true, text: result.detail } })),
    onError: (error, channel) =>
      setOutcomes((o) => ({ ...o, [channel.id]: { ok: false, text: errorMessage(error) } })),
  });
  const remove = useMutation({
    mutationFn: (channel: SavedChannel) => endpoints.deleteChannel(channel.id),
    onSuccess: async (_, channel) => {
      setDeleting(undefined);
      toast({ kind: 'info', title: 'Channel deleted', body: `“${channel.name}” is gone.` });
      await queryClient.invalidateQueries({ queryKey: keys.channels });
    },
    onError: (error) => {
      setDeleting(undefined);
      toast({ kind: 'error', title: 'Could not delete', body: errorMessage(error) });
    },
  });

  const errors = isApiError(create.error, 422) ? create.error.fieldErrors : {};
  const shown = (pointer: string) =>
    pointer === '/name' || FORMS[type].fields.some((f) => pointer === `/config/${f.name}`);
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };

  return (
    <section className="card" aria-labelledby="channels-title">
      <h2 id="channels-title">Channels</h2>
      <p className="muted">
        Where alerts can go besides email: phones (ntfy, Telegram), chats (Slack, Discord), your own webhook.
        Tokens and webhook URLs are never shown again once saved.
      </p>
      {channels.isPending ? (
        <Loading />
      ) : channels.isError ? (
        <ErrorState error={channels.error} onRetry={() => void channels.refetch()} />
      ) : channels.data.data.length === 0 ? (
        <Empty title="No saved channels" />
      ) : (
        <ul className="channel-list">
          {channels.data.data.map((c) => (
            <li key={c.id} data-id={c.id}>
              <div>
                <strong>{c.name}</strong> <span className="badge">{FORMS[c.type].label}</span>{' '}
                <span className="muted mono">
                  {Object.entries(c.config)
                    .map(([k, v]) => `${k}: ${String(v)}`)
                    .join(' · ')}
                </span>
              </div>
              <div className="row-actions">
                <button
                  type="button"
                  onClick={() => test.mutate(c)}
                  disabled={test.isPending && test.variables?.id === c.id}
                >
                  {test.isPending && test.variables?.id === c.id ? 'Sending…' : 'Send test message'}
                </button>
                <button
                  type="button"
                  className="danger"
                  onClick={() => setDeleting(c)}
                  aria-label={`Delete ${c.name}`}
                >
                  Delete
                </button>
              </div>
              {outcomes[c.id] && (
                <p className={outcomes[c.id]!.ok ? 'form-success' : 'form-error'} role="status">
                  {outcomes[c.id]!.text}
                </p>
              )}
            </li>
          ))}
        </ul>
      )}

      <form onSubmit={onSubmit} noValidate aria-labelledby="add-channel-title">
        <h3 id="add-channel-title">Add a channel</h3>
        <Field label="Type">
          {(a) => (
            <select
              {...a}
              value={type}
              onChange={(e) => {
                setType(e.target.value as ChannelType);
                setConfig({});
                create.reset();
              }}
            >
              {TYPES.map((t) => (
                <option key={t} value={t}>
                  {FORMS[t].label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Name" error={errors['/name']} hint="Yours to recognise it, e.g. “my phone”.">
          {(a) => <input {...a} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </Field>
        {FORMS[type].fields.map((f) => (
          <Field
            key={`${type}-${f.name}`}
            label={f.optional ? `${f.label} (optional)` : f.label}
            hint={f.hint}
            error={errors[`/config/${f.name}`]}
          >
            {(a) => (
              <input
                {...a}
                type={f.secret ? 'password' : 'text'}
                autoComplete="off"
                value={config[f.name] ?? ''}
                onChange={(e) => setConfig((c) => ({ ...c, [f.name]: e.target.value }))}
              />
            )}
          </Field>
        ))}
        <OtherErrors errors={errors} shown={shown} />
        {create.error && !isApiError(create.error, 422) && (
          <p className="form-error" role="alert">
            {errorMessage(create.error)}
          </p>
        )}
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? 'Saving…' : 'Save channel'}
        </button>
      </form>

      <ConfirmDialog
        open={deleting !== undefined}
        title="Delete this channel?"
        confirmLabel="Delete"
        busy={remove.isPending}
        onConfirm={() => deleting && remove.mutate(deleting)}
        onCancel={() => setDeleting(undefined)}
      >
        <p>
          <strong>{deleting?.name}</strong> stops receiving alerts. A channel a notification still uses cannot
          be deleted.
        </p>
      </ConfirmDialog>
    </section>
  );
}

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The grouping window and quiet hours (GET/PUT /settings/notifications). */
export function NoiseSettings() {
  const queryClient = useQueryClient();
  const toast = useToast();
  const settings = useQuery({ queryKey: keys.notificationSettings, queryFn: endpoints.notificationSettings });
  const [groupWindow, setGroupWindow] = useState('30');
  const [quiet, setQuiet] = useState(false);
  const [start, setStart] = useState('22:00');
  const [end, setEnd] = useState('07:00');
  const [zone, setZone] = useState(browserZone());
  const [mode, setMode] = useState<'hold' | 'drop'>('hold');

  useEffect(() => {
    if (!settings.data) return;
    setGroupWindow(String(settings.data.group_window_seconds));
    const q = settings.data.quiet_hours;
    setQuiet(q !== null);
    if (q) {
      setStart(q.start);
      setEnd(q.end);
      setZone(q.time_zone);
      setMode(q.mode);
    }
  }, [settings.data]);

  const save = useMutation({
    mutationFn: () => {
      const body: NotificationSettings = {
        group_window_seconds: Number(groupWindow),
        quiet_hours: quiet ? { start, end, time_zone: zone, mode } : null,
      };
      return endpoints.saveNotificationSettings(body);
    },
    onSuccess: (saved) => {
      queryClient.setQueryData(keys.notificationSettings, saved);
      toast({ kind: 'info', title: 'Settings saved' });
    },
  });
  const errors = isApiError(save.error, 422) ? save.error.fieldErrors : {};
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <section className="card" aria-labelledby="noise-title">
      <h2 id="noise-title">Grouping and quiet hours</h2>
      {settings.isPending ? (
        <Loading />
      ) : settings.isError ? (
        <ErrorState error={settings.error} onRetry={() => void settings.refetch()} />
      ) : (
        <form onSubmit={onSubmit} noValidate>
          <Field
            label="Group window (seconds)"
            hint="Alerts to one channel within this time of a message go out together as one. 0: every alert by itself."
            error={errors['/group_window_seconds']}
          >
            {(a) => (
              <input
                {...a}
                type="number"
                min={0}
                max={3600}
                value={groupWindow}
                onChange={(e) => setGroupWindow(e.target.value)}
              />
            )}
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={quiet} onChange={(e) => setQuiet(e.target.checked)} /> Quiet hours
          </label>
          {quiet && (
            <fieldset className="quiet-hours">
              <legend className="visually-hidden">Quiet hours</legend>
              <Field label="From" error={errors['/quiet_hours/start']}>
                {(a) => <input {...a} type="time" value={start} onChange={(e) => setStart(e.target.value)} />}
              </Field>
              <Field label="Until" error={errors['/quiet_hours/end']}>
                {(a) => <input {...a} type="time" value={end} onChange={(e) => setEnd(e.target.value)} />}
              </Field>
              <Field
                label="Time zone"
                hint="An IANA zone, e.g. Europe/Berlin."
                error={errors['/quiet_hours/time_zone']}
              >
                {(a) => (
                  <input {...a} value={zone} onChange={(e) => setZone(e.target.value)} autoComplete="off" />
                )}
              </Field>
              <Field label="Alerts during quiet hours" error={errors['/quiet_hours/mode']}>
                {(a) => (
                  <select {...a} value={mode} onChange={(e) => setMode(e.target.value as 'hold' | 'drop')}>
                    <option value="hold">Hold, and send them together when quiet hours end</option>
                    <option value="drop">Drop them (they stay in the alert history)</option>
                  </select>
                )}
              </Field>
            </fieldset>
          )}
          <OtherErrors
            errors={errors}
            shown={(p) =>
              [
                '/group_window_seconds',
                '/quiet_hours/start',
                '/quiet_hours/end',
                '/quiet_hours/time_zone',
                '/quiet_hours/mode',
              ].includes(p)
            }
          />
          {save.error && !isApiError(save.error, 422) && (
            <p className="form-error" role="alert">
              {errorMessage(save.error)}
            </p>
          )}
          <button type="submit" className="primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Save'}
          </button>
        </form>
      )}
    </section>
  );
}
