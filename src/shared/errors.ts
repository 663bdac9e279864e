/**
 * Typed errors that services throw. The HTTP layer turns each into an RFC 9457 problem document;
 * nothing else about HTTP leaks into the services.
 */

export interface FieldProblem {
  /** JSON pointer into what the caller sent, e.g. `/3/price` for the fourth price of a batch. */
  pointer: string;
  detail: string;
}

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
}

export class ValidationError extends AppError {
  readonly status = 422;
  readonly title = 'Invalid request';
  constructor(
    message: string,
    readonly errors: FieldProblem[] = [],
  ) {
    super(message);
  }
}

export class BadRequestError extends AppError {
  readonly status = 400;
  readonly title = 'Bad request';
}

export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly title = 'Unauthorized';
}

export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly title = 'Forbidden';
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly title = 'Not found';
}

export class ConflictError extends AppError {
  readonly status = 409;
  readonly title = 'Conflict';
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly title = 'Payload too large';
}

export class ServiceUnavailableError extends AppError {
  readonly status = 503;
  readonly title = 'Service unavailable';
}
