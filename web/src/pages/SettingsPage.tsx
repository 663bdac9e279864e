import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { errorMessage, isApiError } from '../api/client';
import { endpoints, keys } from '../api/endpoints';
import type { ApiToken, CreatedApiToken } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Field } from '../components/Field';
import { Empty, ErrorState, Loading } from '../components/States';
import { useToast } from '../components/Toasts';
import { formatDateTime, formatFull, formatRelative } from '../format';
import { useDocumentTitle } from '../hooks';
import { Channels, NoiseSettings } from './ChannelsSettings';

export function SettingsPage() {
  useDocumentTitle('Settings');
  return (
    <section>
      <div className="page-head">
        <h1>Settings</h1>
      </div>
      <Account />
      <Channels />
      <NoiseSettings />
      <Tokens />
      <WebhookSecret />
    </section>
  );
}

function Account() {
  const me = useQuery({ queryKey: keys.me, queryFn: endpoints.me });
  return (
    <section className="card" aria-labelledby="account-title">
      <h2 id="account-title">Account</h2>
      {me.isPending ? (
        <Loading />
      ) : me.isError ? (
        <ErrorState error={me.error} />
      ) : (
        <dl className="facts">
          <dt>Email</dt>
          <dd>{me.data.email}</dd>
          <dt>Name</dt>
          <dd>{me.data.name}</dd>
          <dt>Role</dt>
          <dd>{me.data.role === 'admin' ? 'Administrator' : 'User'}</dd>
          <dt>Member since</dt>
          <dd>{formatDateTime(me.data.created_at)}</dd>
        </dl>
      )}
    </section>
  );
}

async function copy(text: string) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

function Tokens() {
  const queryClient = useQueryClient();
  const toast = useToast();
  const tokens = useQuery({ queryKey: keys.tokens, queryFn: endpoints.tokens });
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedApiToken | undefined>();
  const [revoking, setRevoking] = useState<ApiToken | undefined>();

  const create = useMutation({
    mutationFn: () => endpoints.createToken(name.trim()),
    onSuccess: async (token) => {
      setCreated(token);
      setName('');
      await queryClient.invalidateQueries({ queryKey: keys.tokens });
    },
  });
  const revoke = useMutation({
    mutationFn: (token: ApiToken) => endpoints.revokeToken(token.id),
    onSuccess: async (_, token) => {
      setRevoking(undefined);
      if (created?.id === token.id) setCreated(undefined);
      toast({ kind: 'info', title: 'Token revoked', body: `"${token.name}" no longer works.` });
      await queryClient.invalidateQueries({ queryKey: keys.tokens });
    },
    onError: (error) => toast({ kind: 'error', title: 'Could not revoke', body: errorMessage(error) }),
  });
  const nameError = isApiError(create.error, 422) ? create.error.fieldErrors['/name'] : undefined;
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };

  return (
    <section className="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p className="muted">
        For scripts and other programs: send <code>Authorization: Bearer &lt;token&gt;</code>. A token is
        shown once, when created; only its fingerprint is stored.
      </p>
      <form onSubmit={onSubmit} noValidate className="inline-form">
        <Field label="Token name" error={nameError} hint="What will use it, e.g. “laptop script”.">
          {(a) => <input {...a} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </Field>
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create token'}
        </button>
      </form>
      {create.error && !nameError && (
        <p className="form-error" role="alert">
          {errorMessage(create.error)}
        </p>
      )}
      {created && (
        <div className="secret-box" role="status">
          <p>
            <strong>Copy your new token “{created.name}” now.</strong> It will not be shown again.
          </p>
          <div className="input-with-button">
            <input
              readOnly
              value={created.token}
              aria-label="New API token"
              className="mono"
              onFocus={(e) => e.target.select()}
            />
            <button
              type="button"
              onClick={async () =>
                toast(
                  (await copy(created.token))
                    ? { kind: 'info', title: 'Token copied' }
                    : { kind: 'error', title: 'Copy failed', body: 'Select the token and copy it by hand.' },
                )
              }
            >
              Copy
            </button>
            <button type="button" onClick={() => setCreated(undefined)}>
              Done
            </button>
          </div>
        </div>
      )}
      {tokens.isPending ? (
        <Loading />
      ) : tokens.isError ? (
        <ErrorState error={tokens.error} onRetry={() => void tokens.refetch()} />
      ) : tokens.data.data.length === 0 ? (
        <Empty title="No API tokens" />
      ) : (
        <table className="responsive-table tokens">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Starts with</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.data.map((t) => (
              <tr key={t.id} data-id={t.id}>
                <th scope="row" data-label="Name">
                  {t.name}
                </th>
                <td data-label="Starts with">
                  <code>{t.prefix}…</code>
                </td>
                <td data-label="Created">
                  <time dateTime={t.created_at} title={formatFull(t.created_at)}>
                    {formatDateTime(t.created_at)}
                  </time>
                </td>
                <td data-label="Last used">
                  {t.last_used_at ? formatRelative(t.last_used_at) : <span className="muted">never</span>}
                </td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="danger"
                    onClick={() => setRevoking(t)}
                    aria-label={`Revoke ${t.name}`}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog
        open={revoking !== undefined}
        title="Revoke this token?"
        confirmLabel="Revoke"
        busy={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        onCancel={() => setRevoking(undefined)}
      >
        <p>
          Programs using <strong>{revoking?.name}</strong> are refused from their next request.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function WebhookSecret() {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [shown, setShown] = useState(false);
  const [confirming, setConfirming] = useState(false);
  // Fetched only when asked for: a secret on screen is a secret on someone's screen.
  const secret = useQuery({
    queryKey: keys.webhookSecret,
    queryFn: endpoints.webhookSecret,
    enabled: shown,
    staleTime: Infinity,
  });
  const rotate = useMutation({
    mutationFn: endpoints.rotateWebhookSecret,
    onSuccess: (result) => {
      queryClient.setQueryData(keys.webhookSecret, result);
      setShown(true);
      setConfirming(false);
      toast({
        kind: 'info',
        title: 'Webhook secret rotated',
        body: 'Update the receivers of your webhooks.',
      });
    },
    onError: (error) => toast({ kind: 'error', title: 'Could not rotate', body: errorMessage(error) }),
  });

  return (
    <section className="card" aria-labelledby="webhook-title">
      <h2 id="webhook-title">Webhook secret</h2>
      <p className="muted">
        Each webhook carries <code>X-Stockwatch-Signature: sha256=…</code>, an HMAC-SHA256 of the body with
        this secret, so the receiver can check the message came from here.
      </p>
      <div className="input-with-button">
        <input
          readOnly
          className="mono"
          aria-label="Webhook secret"
          value={
            shown ? (secret.data?.secret ?? (secret.isError ? '' : 'Loading…')) : '••••••••••••••••••••••••'
          }
          onFocus={(e) => e.target.select()}
        />
        <button type="button" onClick={() => setShown((s) => !s)} aria-pressed={shown}>
          {shown ? 'Hide' : 'Show'}
        </button>
        {shown && secret.data && (
          <button
            type="button"
            onClick={async () => {
              const ok = secret.data && (await copy(secret.data.secret));
              toast(ok ? { kind: 'info', title: 'Secret copied' } : { kind: 'error', title: 'Copy failed' });
            }}
          >
            Copy
          </button>
        )}
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Rotate
        </button>
      </div>
      {secret.isError && <ErrorState error={secret.error} />}
      <ConfirmDialog
        open={confirming}
        title="Rotate the webhook secret?"
        confirmLabel="Rotate"
        busy={rotate.isPending}
        onConfirm={() => rotate.mutate()}
        onCancel={() => setConfirming(false)}
      >
        <p>The current secret stops signing at once; receivers that check signatures need the new one.</p>
      </ConfirmDialog>
    </section>
  );
}
