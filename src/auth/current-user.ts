import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../shared/errors.ts';

/** Who is calling: resolved once per request from the session cookie or a personal API token. */
export interface CurrentUser {
  id: string;
  email: string;
  name: string;
}

export type AuthMethod = 'session' | 'token' | 'ingest';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin before handlers run; null for anonymous requests. */
    user: CurrentUser | null;
    /** How the caller proved who they are: a session cookie, a personal API token, the ingest token. */
    authMethod: AuthMethod | null;
  }
}

/** The signed-in caller, or a 401. Every user endpoint starts here. */
export function requireUser(request: FastifyRequest): CurrentUser {
  if (!request.user) throw new UnauthorizedError('Sign in or send Authorization: Bearer <API token>');
  return request.user;
}

/**
 * Route option for user endpoints: `preValidation: signedIn` answers 401 before the body is
 * validated, so an anonymous caller learns nothing from validation messages.
 */
export async function signedIn(request: FastifyRequest): Promise<void> {
  requireUser(request);
}
