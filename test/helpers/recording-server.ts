import http from 'node:http';

export interface RecordedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string | object;
}

/**
 * A local HTTP server standing in for a real service (ntfy, Slack, Discord, Telegram, a webhook): it
 * records every request exactly as received and answers from a queue (`answers`), else `fallback`.
 */
export async function startRecordingServer(fallback: Answer = { status: 200, body: 'ok' }) {
  const requests: RecordedRequest[] = [];
  const answers: Answer[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      requests.push({ method: req.method!, path: req.url!, headers: req.headers, body });
      const answer = answers.shift() ?? fallback;
      const text =
        answer.body === undefined
          ? ''
          : typeof answer.body === 'string'
            ? answer.body
            : JSON.stringify(answer.body);
      res.writeHead(answer.status, {
        ...(typeof answer.body === 'object' && { 'content-type': 'application/json' }),
        ...answer.headers,
      });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    requests,
    /** Answers for the next requests, in order. */
    answer(...next: Answer[]) {
      answers.push(...next);
    },
    reset() {
      requests.length = 0;
      answers.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
