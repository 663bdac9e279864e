import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** The raw message with quoted-printable soft breaks and escapes undone, for reading its text. */
  decoded: string;
  subject: string;
  messageId: string;
}

/**
 * A real SMTP server (the smtp-server package) that records what it accepts. It can refuse the next
 * messages with a 4xx, or hold them without answering, to test retries and crashes mid-send.
 */
export async function startSmtpServer(port = 0, options: { closeTimeoutMs?: number } = {}) {
  const received: ReceivedMail[] = [];
  let refuseNext = 0;
  let refuseAll = false;
  let hold = false;
  const held: Array<() => void> = [];
  const waiters: Array<() => void> = [];
  let attempts = 0;

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // How long `close()` lets open connections go on (smtp-server's default: 30 s); a short one is a crash.
    ...(options.closeTimeoutMs !== undefined && { closeTimeout: options.closeTimeoutMs }),
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        attempts++;
        const raw = Buffer.concat(chunks).toString('utf8');
        if (refuseAll || refuseNext > 0) {
          refuseNext = Math.max(0, refuseNext - 1);
          const error = Object.assign(new Error('Mailbox busy, try again later'), { responseCode: 451 });
          callback(error);
          return;
        }
        const accept = () => {
          const header = (name: string) =>
            new RegExp(`^${name}:\\s*(.*(?:\\r?\\n[ \\t].*)*)`, 'im')
              .exec(raw)?.[1]
              ?.replace(/\r?\n[ \t]+/g, ' ') ?? '';
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            decoded: decodeQuotedPrintable(raw),
            subject: header('Subject'),
            messageId: header('Message-ID'),
          });
          callback();
          for (const w of waiters.splice(0)) w();
        };
        if (hold) held.push(accept);
        else accept();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;

  return {
    port: boundPort,
    url: `smtp://127.0.0.1:${boundPort}`,
    received,
    /** Messages whose DATA was fully sent, accepted or not. */
    attempts: () => attempts,
    refuse(count: number) {
      refuseNext = count;
    },
    refuseAlways(on: boolean) {
      refuseAll = on;
    },
    /** Keeps the next messages waiting for their final answer until `release()`. */
    holdReplies(on: boolean) {
      hold = on;
    },
    heldCount: () => held.length,
    release() {
      hold = false;
      for (const accept of held.splice(0)) accept();
    },
    async waitFor(count: number, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} emails, got ${received.length}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function decodeQuotedPrintable(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}
