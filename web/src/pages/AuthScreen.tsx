import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { errorMessage, isApiError } from '../api/client';
import { endpoints, keys } from '../api/endpoints';
import { Field, OtherErrors } from '../components/Field';
import { ErrorState, Loading } from '../components/States';
import { ThemeToggle } from '../components/ThemeToggle';

type Mode = 'sign-in' | 'sign-up';

/**
 * Signed out. On a new installation (no account yet) it asks for the first account, which becomes
 * the administrator; otherwise sign-in, sign-up when the server allows it, and Google when configured.
 */
export function AuthScreen() {
  const setup = useQuery({ queryKey: keys.setup, queryFn: endpoints.setup });
  const [mode, setMode] = useState<Mode>('sign-in');
  if (setup.isPending) return <Loading />;
  if (setup.isError)
    return (
      <main className="auth">
        <h1>Stockwatch</h1>
        <ErrorState error={setup.error} onRetry={() => void setup.refetch()} />
      </main>
    );
  const firstRun = setup.data.needs_setup;
  const effective: Mode = firstRun ? 'sign-up' : setup.data.sign_up ? mode : 'sign-in';
  const google = setup.data.providers.includes('google');

  return (
    <main className="auth" id="main">
      <div className="auth-top">
        <span className="brand">
          <span aria-hidden="true">◆</span> Stockwatch
        </span>
        <ThemeToggle />
      </div>
      <div className="card auth-card">
        {firstRun ? (
          <>
            <h1>Welcome to Stockwatch</h1>
            <p>
              No account exists yet. Create the first one: it becomes the administrator of this installation.
            </p>
          </>
        ) : (
          <h1>{effective === 'sign-in' ? 'Sign in' : 'Create an account'}</h1>
        )}
        <CredentialsForm key={effective} mode={effective} firstRun={firstRun} />
        {google && <GoogleButton />}
        {!firstRun && setup.data.sign_up && (
          <p className="auth-switch">
            {effective === 'sign-in' ? 'New here? ' : 'Have an account? '}
            <button
              type="button"
              className="link-button"
              onClick={() => setMode(effective === 'sign-in' ? 'sign-up' : 'sign-in')}
            >
              {effective === 'sign-in' ? 'Create an account' : 'Sign in'}
            </button>
          </p>
        )}
      </div>
    </main>
  );
}

function CredentialsForm({ mode, firstRun }: { mode: Mode; firstRun: boolean }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [showPassword, setShowPassword] = useState(false);

  const submit = useMutation({
    mutationFn: () =>
      mode === 'sign-up'
        ? endpoints.signUp({ email: email.trim(), password, ...(name.trim() && { name: name.trim() }) })
        : endpoints.signIn({ email: email.trim(), password }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: keys.session });
      await queryClient.invalidateQueries({ queryKey: keys.setup });
    },
  });
  const errors = isApiError(submit.error, 422) ? submit.error.fieldErrors : {};
  const general = submit.error && !isApiError(submit.error, 422) ? errorMessage(submit.error) : undefined;
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    submit.mutate();
  };

  return (
    <form onSubmit={onSubmit} noValidate className="form">
      {mode === 'sign-up' && (
        <Field label="Name (optional)" error={errors['/name']}>
          {(a) => <input {...a} value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" />}
        </Field>
      )}
      <Field label="Email" error={errors['/email']}>
        {(a) => (
          <input
            {...a}
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            autoComplete="email"
            required
          />
        )}
      </Field>
      <Field
        label="Password"
        hint={mode === 'sign-up' ? 'At least 8 characters.' : undefined}
        error={errors['/password']}
      >
        {(a) => (
          <div className="input-with-button">
            <input
              {...a}
              type={showPassword ? 'text' : 'password'}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete={mode === 'sign-up' ? 'new-password' : 'current-password'}
              required
            />
            <button type="button" onClick={() => setShowPassword((s) => !s)} aria-pressed={showPassword}>
              {showPassword ? 'Hide' : 'Show'}
            </button>
          </div>
        )}
      </Field>
      <OtherErrors errors={errors} shown={(p) => ['/name', '/email', '/password'].includes(p)} />
      {general && (
        <p className="form-error" role="alert">
          {isApiError(submit.error, 401) ? 'Wrong email or password.' : general}
        </p>
      )}
      <button type="submit" className="primary" disabled={submit.isPending}>
        {submit.isPending
          ? 'Please wait…'
          : firstRun
            ? 'Create the administrator account'
            : mode === 'sign-up'
              ? 'Create account'
              : 'Sign in'}
      </button>
    </form>
  );
}

function GoogleButton() {
  const google = useMutation({
    mutationFn: () => endpoints.signInSocial({ provider: 'google', callbackURL: window.location.pathname }),
    onSuccess: (result) => window.location.assign(result.url),
  });
  return (
    <div className="google">
      <p className="divider">
        <span>or</span>
      </p>
      <button
        type="button"
        className="google-button"
        onClick={() => google.mutate()}
        disabled={google.isPending}
      >
        <span aria-hidden="true" className="google-g">
          G
        </span>{' '}
        Sign in with Google
      </button>
      {google.error && (
        <p className="form-error" role="alert">
          {errorMessage(google.error)}
        </p>
      )}
    </div>
  );
}
