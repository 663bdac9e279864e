import type { Database } from '../db/connect.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../shared/errors.ts';
import type { AccountsRepo, UserRow } from './accounts.repo.ts';
import type { AuthEngine } from './better-auth.ts';
import type { CurrentUser } from './current-user.ts';
import type { TokensService } from './tokens.service.ts';

export interface Profile {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'user';
  created_at: string;
}

export interface SetupStatus {
  /** True until the first account exists: the dashboard then offers to create it (it becomes admin). */
  needs_setup: boolean;
  /** Whether sign-up is open to anyone now. */
  sign_up: boolean;
  providers: Array<'email' | 'google'>;
}

const profile = (row: UserRow): Profile => ({
  id: row.id,
  email: row.email,
  name: row.name,
  role: row.role,
  created_at: row.createdAt.toISOString(),
});

/** The name shown when none was given: the part of the address before the @. */
export const defaultName = (email: string) => email.split('@')[0] || email;

export function createAuthService(deps: {
  db: Database;
  accounts: AccountsRepo;
  engine: AuthEngine;
  tokens: TokensService;
  allowSignUp: boolean;
  googleEnabled: boolean;
}) {
  const { db, accounts, engine, tokens } = deps;

  const signUpOpen = async () => deps.allowSignUp || !(await accounts.anyUserExists(db));

  return {
    async setupStatus(): Promise<SetupStatus> {
      const exists = await accounts.anyUserExists(db);
      return {
        needs_setup: !exists,
        sign_up: deps.allowSignUp || !exists,
        providers: deps.googleEnabled ? ['email', 'google'] : ['email'],
      };
    },

    async assertSignUpAllowed(): Promise<void> {
      if (!(await signUpOpen()))
        throw new ForbiddenError(
          'Sign-up is closed on this server (ALLOW_SIGN_UP=false): an operator creates accounts with `stockwatch users create`',
        );
    },

    /** Serves one of better-auth's endpoints (sign-up, sign-in, sign-out, session, Google). */
    forward: (request: Request): Promise<Response> => engine.handle(request),

    resolveSession: (headers: Headers) => engine.getSession(headers),

    authenticateToken: (token: string) => tokens.authenticate(token),

    async profile(user: CurrentUser): Promise<Profile> {
      const row = await accounts.findById(db, user.id);
      // The session or token was valid a moment ago; a user deleted since is simply gone.
      if (!row) throw new NotFoundError(`User '${user.id}' not found`);
      return profile(row);
    },

    /** Operators create accounts without the dashboard; the first one still becomes admin. */
    async createUser(input: {
      email: string;
      password: string;
      name?: string | undefined;
    }): Promise<Profile> {
      const email = input.email.toLowerCase();
      if (await accounts.findByEmail(db, email))
        throw new ConflictError(`An account with email '${email}' already exists`);
      if (input.password.length < 8 || input.password.length > 128)
        throw new ValidationError('The password must be 8 to 128 characters long', [
          { pointer: '/password', detail: 'must be 8 to 128 characters long' },
        ]);
      const created = await engine.signUpEmail({
        email,
        password: input.password,
        name: input.name ?? defaultName(email),
      });
      const row = await accounts.findById(db, created.id);
      return profile(row!);
    },

    async createTokenFor(email: string, name: string) {
      const owner = await accounts.findByEmail(db, email);
      if (!owner) throw new NotFoundError(`No account with email '${email}'`);
      return tokens.create(owner.id, name);
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
