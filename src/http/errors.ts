import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { isDatabaseUnavailable } from '../db/connect.ts';
import { AppError, type FieldProblem, ValidationError } from '../shared/errors.ts';
import { RequestValidationError } from './validation.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldProblem[];
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Invalid request',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};

export function sendProblem(reply: FastifyReply, status: number, detail: string, errors?: FieldProblem[]) {
  const problem: Problem = {
    type: status === 422 ? '/problems/validation' : 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    ...(errors && { errors }),
  };
  return reply.code(status).type('application/problem+json').send(problem);
}

/** One error format for every route (RFC 9457 problem details), and never a stack trace. */
export function registerErrorHandling(app: FastifyInstance) {
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, `No route for ${request.method} ${request.url.split('?')[0]}`),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof RequestValidationError) {
      const where = error.validationContext === 'body' ? 'body' : error.validationContext;
      return sendProblem(reply, 422, `The request ${where} is invalid: ${error.message}`, error.problems);
    }
    if (error instanceof ValidationError) return sendProblem(reply, 422, error.message, error.errors);
    if (error instanceof AppError) return sendProblem(reply, error.status, error.message);
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      void reply.header('retry-after', '5');
      return sendProblem(reply, 503, 'The database is unavailable; try again shortly');
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, 500, 'Something went wrong on our side');
    }
    // Fastify's own 4xx (malformed JSON, body too large, unsupported media type, rate limit…).
    return sendProblem(reply, status, error.message);
  });
}
