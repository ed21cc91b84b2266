import { PGlite, type Results } from '@electric-sql/pglite';
import { type Database, type Queryable, type QueryResult, PG_OID, parseInt8 } from './database';

interface PgliteLike {
  query<T>(query: string, params?: unknown[]): Promise<Results<T>>;
  exec(query: string): Promise<Array<Results>>;
}

function toResult<R extends object>(res: Results<R> | undefined): QueryResult<R> {
  const rows = res?.rows ?? [];
  // PGlite reports affectedRows for INSERT/UPDATE/DELETE; a SELECT's count is its rows.
  return { rows, rowCount: rows.length > 0 ? rows.length : (res?.affectedRows ?? 0) };
}

async function run<R extends object>(
  conn: PgliteLike,
  text: string,
  params?: readonly unknown[],
): Promise<QueryResult<R>> {
  if (params !== undefined && params.length > 0) return toResult(await conn.query<R>(text, [...params]));
  // Parameterless: simple protocol, so migrations may hold several statements (as on node-postgres).
  const all = await conn.exec(text);
  return toResult(all[all.length - 1] as Results<R> | undefined);
}

/**
 * Opens (creating if needed) a PGlite database. `dataDir` undefined keeps it in memory.
 * PGlite is a single connection: statements and transactions are serialised by PGlite itself.
 */
export async function openPgliteDatabase(dataDir?: string): Promise<Database> {
  const pglite = await PGlite.create({
    ...(dataDir === undefined ? {} : { dataDir }),
    parsers: { [PG_OID.INT8]: parseInt8 },
  });

  return {
    kind: 'pglite',
    query: <R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]) =>
      run<R>(pglite, text, params),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> =>
      pglite.transaction(async (t) =>
        fn({
          query: <R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]) =>
            run<R>(t, text, params),
        }),
      ),
    close: () => pglite.close(),
  };
}
