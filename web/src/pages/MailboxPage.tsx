import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { endpoints, keys } from '../api/endpoints';
import type { MailboxMessage } from '../api/types';
import { Empty, ErrorState, Loading } from '../components/States';
import { formatFull, formatWhen } from '../format';
import { useDocumentTitle } from '../hooks';

/** The built-in mailbox: the emails Stockwatch would have sent, when no SMTP server or SES is set. */
export function MailboxPage() {
  useDocumentTitle('Mailbox');
  const mailbox = useQuery({ queryKey: keys.mailbox, queryFn: endpoints.mailbox, refetchInterval: 10_000 });
  return (
    <section>
      <div className="page-head">
        <h1>Mailbox</h1>
        <p className="muted">
          No mail server is configured, so alert emails are kept here instead (the last 100).
        </p>
      </div>
      {mailbox.isPending ? (
        <Loading />
      ) : mailbox.isError ? (
        <ErrorState error={mailbox.error} onRetry={() => void mailbox.refetch()} />
      ) : !mailbox.data.enabled ? (
        <Empty title="Email goes to a real mail server">
          <p>This server sends email through SMTP or Amazon SES, so the built-in mailbox is not in use.</p>
        </Empty>
      ) : mailbox.data.data.length === 0 ? (
        <Empty title="No email yet">
          <p>Alert emails appear here as soon as a notification fires.</p>
        </Empty>
      ) : (
        <ul className="mail-list">
          {mailbox.data.data.map((m) => (
            <Mail key={m.id} message={m} />
          ))}
        </ul>
      )}
    </section>
  );
}

function Mail({ message: m }: { message: MailboxMessage }) {
  const [html, setHtml] = useState(false);
  return (
    <li className="card mail">
      <details>
        <summary>
          <span className="mail-subject">{m.subject}</span>
          <span className="muted">
            to {m.to} ·{' '}
            <time dateTime={m.created_at} title={formatFull(m.created_at)}>
              {formatWhen(m.created_at)}
            </time>
          </span>
        </summary>
        <div className="mail-body">
          <button
            type="button"
            className="link-button"
            onClick={() => setHtml((h) => !h)}
            aria-pressed={html}
          >
            {html ? 'Show plain text' : 'Show as HTML'}
          </button>
          {html ? (
            // Sandboxed without scripts: the message is rendered, never run.
            <iframe title={`Email: ${m.subject}`} sandbox="" srcDoc={m.html} className="mail-html" />
          ) : (
            <pre className="mail-text">{m.text}</pre>
          )}
        </div>
      </details>
    </li>
  );
}
