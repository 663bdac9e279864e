import type { FastifySchemaCompiler } from 'fastify';
import type { ZodType, z } from 'zod';
import type { FieldProblem } from '../shared/errors.ts';

/** A request that failed its route schema; carries the problems in the caller's own terms. */
export class RequestValidationError extends Error {
  validationContext?: string;
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => `${p.pointer || '/'}: ${p.detail}`).join('; '));
  }
}

/** Validates with the route's zod schema, strictly: no coercion unless the schema asks for it. */
export const zodValidatorCompiler: FastifySchemaCompiler<ZodType> =
  ({ schema }) =>
  (data) => {
    const result = schema.safeParse(data);
    if (result.success) return { value: result.data };
    return { error: new RequestValidationError(toProblems(result.error.issues, data)) };
  };

/**
 * Turns zod issues into field problems. For a union (one price or an array of prices) only the
 * branch matching the shape the caller sent is reported, so an error in item 3 of a batch reads
 * `/3/price`, not a list of every way the body could have been valid.
 */
export function toProblems(issues: readonly z.core.$ZodIssue[], input: unknown, base: PropertyKey[] = []) {
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const value = valueAt(input, path.slice(base.length));
      const branch =
        issue.errors.find(
          (branchIssues) => !branchIssues.some((i) => i.code === 'invalid_type' && i.path.length === 0),
        ) ?? issue.errors[0]!;
      if (!Array.isArray(value) && typeof value !== 'object') {
        problems.push({ pointer: pointer(path), detail: 'has the wrong type' });
        continue;
      }
      problems.push(...toProblems(branch, value, path));
      continue;
    }
    let detail = issue.message;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        problems.push({ pointer: pointer([...path, key]), detail: 'is not allowed' });
      continue;
    }
    if (issue.code === 'invalid_type') detail = `must be of type ${issue.expected}`;
    problems.push({ pointer: pointer(path), detail });
  }
  return problems;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input;
  for (const key of path)
    v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function pointer(path: PropertyKey[]): string {
  return path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
