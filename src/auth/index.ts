import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/connect.ts';
import type { Clock } from '../shared/clock.ts';
import { type Secrets, token } from '../shared/secrets.ts';
import { createAccountsRepo } from './accounts.repo.ts';
import { registerAuthPlugin } from './auth.plugin.ts';
import { authRoutes } from './auth.routes.ts';
import { createAuthService } from './auth.service.ts';
import { createAuthEngine } from './better-auth.ts';
import { requireUser } from './current-user.ts';
import type { IngestAuth } from './ingest-token.ts';
import { operatorRoutes } from './operator.routes.ts';
import { createTokensRepo } from './tokens.repo.ts';
import { tokensRoutes } from './tokens.routes.ts';
import { createTokensService } from './tokens.service.ts';

/** Accounts, sessions and API tokens, wired once per runtime. */
export function createAuth(deps: {
  config: Config;
  db: Database;
  secrets: Secrets;
  logger: Logger;
  clock: Clock;
  ingestAuth: IngestAuth;
}) {
  const { config, db } = deps;
  const accounts = createAccountsRepo();
  const tokens = createTokensService({ db, repo: createTokensRepo(), clock: deps.clock });
  const engine = createAuthEngine({
    db,
    config,
    secret: deps.secrets.authSecret,
    logger: deps.logger,
    onUserCreated: async (userId) => {
      await accounts.claimFirstAdmin(db, userId);
    },
  });
  const service = createAuthService({
    db,
    accounts,
    engine,
    tokens,
    allowSignUp: config.allowSignUp,
    googleEnabled: config.google !== undefined,
  });
  return {
    service,
    tokens,
    sessionCookieName: engine.sessionCookieName,
    isIngest: deps.ingestAuth.isIngest,
    /** Per process: operator commands read it from DATA_DIR/server.json while this server runs. */
    operatorToken: token(),
  };
}

export type Auth = ReturnType<typeof createAuth>;

/** request.user for every route, then the account, token and operator routes. */
export function registerAuth(app: FastifyInstance, deps: { auth: Auth; config: Config }) {
  const { auth, config } = deps;
  registerAuthPlugin(app, {
    auth: auth.service,
    isIngest: auth.isIngest,
    publicUrl: config.publicUrl,
    sessionCookieName: auth.sessionCookieName,
  });
  authRoutes(app, {
    auth: auth.service,
    publicUrl: config.publicUrl,
    authRateLimitPerMinute: config.authRateLimitPerMinute,
    googleEnabled: config.google !== undefined,
  });
  tokensRoutes(app, { tokens: auth.tokens });
  operatorRoutes(app, { auth: auth.service, operatorToken: auth.operatorToken });
}

/** Reading prices needs a signed-in user or an API token, unless PUBLIC_PRICES=true. */
export function priceReadAccess(publicPrices: boolean) {
  return async (request: FastifyRequest) => {
    if (!publicPrices) requireUser(request);
  };
}
