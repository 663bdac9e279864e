import type { Transporter } from 'nodemailer';
import type { LeasedDelivery } from '../deliveries.repo.ts';
import type { AlertMessage } from '../message.ts';
import { type Channel, DeliveryError } from './channel.ts';

export type EmailTransportConfig =
  | { kind: 'smtp'; url: string; from: string }
  | { kind: 'ses'; from: string; region?: string; endpoint?: string }
  | { kind: 'mailbox' };

/** Stores a message in the built-in mailbox instead of sending it. */
export type MailboxWriter = (message: {
  userId: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
}) => Promise<void>;

/**
 * Email through nodemailer: SMTP (`SMTP_URL`), Amazon SES v2, or the built-in mailbox when neither is
 * configured, so that a zero-configuration install still shows every message it would have sent.
 */
export function createEmailChannel(
  config: EmailTransportConfig,
  writeMailbox: MailboxWriter,
): Channel<'email'> {
  let transport: Promise<Transporter | undefined> | undefined;

  return {
    async send(delivery: LeasedDelivery, message: AlertMessage) {
      const to = delivery.userEmail;
      if (!to) throw new DeliveryError('The account has no email address', { permanent: true });
      transport ??= createTransport(config);
      const mailer = await transport;
      if (!mailer) {
        await writeMailbox({ userId: delivery.userId, to, ...message });
        return;
      }
      try {
        await mailer.sendMail({
          from: config.kind === 'mailbox' ? undefined : config.from,
          to: delivery.userName ? { name: delivery.userName, address: to } : to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          messageId: message.messageId,
          // The first of the message's deliveries: a grouped email lists several alerts.
          headers: { 'X-Stockwatch-Delivery': delivery.id },
        });
      } catch (error) {
        // Every failure gets the seed's three attempts, 5xx included: a refused login or a full
        // mailbox is often fixed between attempts, and a final failure can still be retried by hand.
        throw new DeliveryError(`Email not sent: ${(error as Error).message ?? String(error)}`);
      }
    },
  };
}

/**
 * Loaded on the first email, not at start: nodemailer and the AWS SDK cost every process start-up time
 * and memory (about 150 ms and 10 MB), and the built-in mailbox needs neither.
 */
async function createTransport(config: EmailTransportConfig): Promise<Transporter | undefined> {
  if (config.kind === 'mailbox') return undefined;
  const { default: nodemailer } = await import('nodemailer');
  // A few long-lived connections: a burst of alerts would otherwise pay a handshake per message.
  if (config.kind === 'smtp') return nodemailer.createTransport(pooled(config.url));
  const { SESv2Client, SendEmailCommand } = await import('@aws-sdk/client-sesv2');
  return nodemailer.createTransport({
    SES: {
      sesClient: new SESv2Client({
        ...(config.region && { region: config.region }),
        ...(config.endpoint && { endpoint: config.endpoint }),
      }),
      SendEmailCommand,
    },
  });
}

/** The SMTP URL with nodemailer's pool options, unless the URL sets them itself. */
function pooled(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  for (const [key, value] of [
    ['pool', 'true'],
    ['maxConnections', '5'],
    ['maxMessages', '500'],
  ] as const)
    if (!url.searchParams.has(key)) url.searchParams.set(key, value);
  return url.toString();
}
