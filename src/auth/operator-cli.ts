import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Config } from '../config.ts';
import { REDACT_PATHS } from '../logger.ts';
import { OperatorError, runningServer } from '../operator.ts';
import { createRuntime } from '../runtime.ts';
import { AppError } from '../shared/errors.ts';
import { OPERATOR_HEADER } from './operator.routes.ts';

export const OPERATOR_USAGE = `  users create --email E --password P [--name N]
             create an account (the first one becomes admin)
  tokens create --email E --name N
             create a personal API token for an account; prints only the token`;

interface Output {
  out(line: string): void;
}

/**
 * `stockwatch users create` and `stockwatch tokens create`. With the embedded database and a server
 * running on it, the server does the work (PGlite has one owner) through its loopback-only operator
 * routes; otherwise, or with DATABASE_URL, this process opens the database itself.
 */
export async function operatorCommand(config: Config, argv: string[], io: Output = stdout): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string' },
    },
  });
  const [group, action] = positionals;
  const need = (flag: 'email' | 'password' | 'name') => {
    const value = values[flag];
    if (!value) throw new OperatorError(`stockwatch ${group} ${action}: --${flag} is required`);
    return value;
  };

  if (group === 'users' && action === 'create') {
    const input = {
      email: need('email'),
      password: need('password'),
      ...(values.name && { name: values.name }),
    };
    const user = await perform(config, '/operator/users', input, (auth) => auth.createUser(input));
    io.out(`Created ${user.role === 'admin' ? 'admin ' : ''}account ${user.email} (id ${user.id})`);
    return 0;
  }
  if (group === 'tokens' && action === 'create') {
    const input = { email: need('email'), name: need('name') };
    const created = await perform(config, '/operator/tokens', input, (auth) =>
      auth.createTokenFor(input.email, input.name),
    );
    // Only the token, so that `TOKEN=$(stockwatch tokens create …)` works.
    io.out(created.token);
    return 0;
  }
  throw new OperatorError(
    `Unknown operator command '${positionals.join(' ')}'. Commands:\n${OPERATOR_USAGE}`,
  );
}

const stdout: Output = { out: (line) => process.stdout.write(`${line}\n`) };

type AuthService = Awaited<ReturnType<typeof createRuntime>>['auth']['service'];

async function perform<T>(
  config: Config,
  path: string,
  body: Record<string, string>,
  direct: (auth: AuthService) => Promise<T>,
): Promise<T> {
  const server = config.databaseUrl ? undefined : runningServer(config.dataDir);
  if (server) return viaServer<T>(server.address, server.operatorToken, path, body);

  // Nobody else owns the database: open it here. Logs go to stderr so stdout carries only the result.
  const logger = pino(
    { level: 'warn', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    pino.destination(2),
  );
  const runtime = await createRuntime(config, { logger });
  try {
    await runtime.database.migrate();
    return await direct(runtime.auth.service);
  } catch (error) {
    if (error instanceof AppError) throw new OperatorError(error.message);
    throw error;
  } finally {
    await runtime.close();
  }
}

async function viaServer<T>(address: string, operatorToken: string | undefined, path: string, body: unknown) {
  if (!operatorToken)
    throw new OperatorError(
      `The server at ${address} is older than operator commands: restart it, then try again`,
    );
  const response = await fetch(new URL(path, address), {
    method: 'POST',
    headers: { 'content-type': 'application/json', [OPERATOR_HEADER]: operatorToken },
    body: JSON.stringify(body),
  }).catch((error: Error) => {
    throw new OperatorError(`Cannot reach the running server at ${address}: ${error.message}`);
  });
  const answer = (await response.json().catch(() => ({}))) as { detail?: string };
  if (!response.ok) throw new OperatorError(answer.detail ?? `The server answered ${response.status}`);
  return answer as T;
}
