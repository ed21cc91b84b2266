/**
 * The database port. Two adapters implement it: node-postgres (Aurora, any server) and PGlite
 * (embedded, local mode and tests). Repositories depend on this file only, so a Lambda bundle that
 * uses the server adapter never pulls in PGlite.
 *
 * Contract shared by both adapters:
 * - `query` with parameters runs one statement (extended protocol). Without parameters it may
 *   hold several statements (simple protocol); the last statement's rows are returned.
 * - bigint columns come back as JS numbers (refused beyond 2^53), timestamptz as Date,
 *   uuid/text/inet as string, jsonb as parsed JSON.
 * - `transaction` commits when `fn` resolves and rolls back when it rejects.
 */

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R extends object = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** OIDs whose parsing both adapters pin so repositories see the same JS types on each. */
export const PG_OID = { INT8: 20 } as const;

/** bigint → number. Sizes and sequence ids stay far below 2^53; silently rounding would be worse than failing. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint value ${text} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

/** SQLSTATE of a database error from either adapter, if it is one. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** Name of the violated constraint, when the adapter reports one. */
export function violatedConstraint(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'constraint' in err) {
    const c = (err as { constraint: unknown }).constraint;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

export const SQLSTATE = {
  UNIQUE_VIOLATION: '23505',
  FOREIGN_KEY_VIOLATION: '23503',
  CHECK_VIOLATION: '23514',
  NOT_NULL_VIOLATION: '23502',
  INSUFFICIENT_PRIVILEGE: '42501',
  RAISE_EXCEPTION: 'P0001',
} as const;

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  return (
    sqlState(err) === SQLSTATE.UNIQUE_VIOLATION &&
    (constraint === undefined || violatedConstraint(err) === constraint)
  );
}
