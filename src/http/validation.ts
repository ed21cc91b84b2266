import * as z from 'zod';
import { isUuid } from '../domain/ids';
import { notFound, validationFailed, type FieldError } from './problem';
import type { ApiRequest } from './request';

/**
 * zod at the trust boundary. Object schemas given here should be `z.strictObject`, so a field the
 * API does not know is refused (400 naming it) rather than silently dropped: clients never send
 * owner ids or states, and a typo should not pass unnoticed.
 */

/** The request body, validated; no body at all is a 400 naming `(body)`. */
export function parseBody<S extends z.ZodType>(schema: S, req: Pick<ApiRequest, 'body'>): z.output<S> {
  if (req.body === undefined) throw validationFailed([{ field: '(body)', message: 'a JSON body is required' }]);
  return parseOrThrow(schema, req.body, '(body)');
}

/** Query parameters (strings) validated; use z.coerce or z.enum for non-strings. */
export function parseQuery<S extends z.ZodType>(schema: S, req: Pick<ApiRequest, 'query'>): z.output<S> {
  return parseOrThrow(schema, req.query, '(query)');
}

/**
 * A path id (UUID), lower-cased. A malformed id answers exactly like a missing resource (404),
 * so ids cannot be probed by their shape.
 */
export function parsePathId(req: Pick<ApiRequest, 'pathParameters'>, name = 'id'): string {
  const value = req.pathParameters[name];
  if (value === undefined || !isUuid(value)) throw notFound();
  return value.toLowerCase();
}

function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, root: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationFailed(fieldErrors(result.error, root));
}

/** zod issues as `{field, message}`: one entry per unknown key, field paths dotted. */
export function fieldErrors(error: z.ZodError, root = '(body)'): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: base ? `${base}.${key}` : key, message: 'is not a known field' }));
    }
    const missing = issue.code === 'invalid_type' && / received undefined$/.test(issue.message);
    return [{ field: base || root, message: missing ? 'is required' : issue.message }];
  });
}
