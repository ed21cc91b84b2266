import { Logger } from '@aws-lambda-powertools/logger';
import pg from 'pg';
import { errorSummary } from '../adapters/error-summary';
import { type Database, type Queryable, type QueryResult, PG_OID, parseInt8, sqlState } from './database';

/** Parsers pinned per pool (not on the global `pg.types`) so other pg users in the process are unaffected. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === PG_OID.INT8 && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

type PgQueryable = Pick<pg.PoolClient, 'query'>;

async function run<R extends object>(
  conn: PgQueryable,
  text: string,
  params?: readonly unknown[],
): Promise<QueryResult<R>> {
  const res = await conn.query(text, params === undefined ? undefined : [...params]);
  // A parameterless multi-statement query answers with one result per statement.
  const last = (Array.isArray(res) ? res[res.length - 1] : res) as pg.QueryResult | undefined;
  const rows = (last?.rows ?? []) as R[];
  return { rows, rowCount: last?.rowCount ?? rows.length };
}

/**
 * Handler for errors of idle pooled clients. An idle client that loses its connection (server
 * restart, Aurora failover or pause) must not crash the process (an 'error' event without a
 * listener would), but it must be seen: log its kind, message and SQLSTATE only. The error
 * object itself is never logged, since pg may attach the client and its connection parameters.
 */
export function logIdleClientError(logger: Pick<Logger, 'error'>): (err: unknown) => void {
  return (err) => {
    const code = sqlState(err);
    logger.error('database connection lost while idle', { error: errorSummary(err), ...(code ? { sqlState: code } : {}) });
  };
}

export function createPgDatabase(
  config: string | pg.PoolConfig,
  options: { logger?: Pick<Logger, 'error'> } = {},
): Database {
  const base: pg.PoolConfig = typeof config === 'string' ? { connectionString: config } : config;
  const pool = new pg.Pool({ ...base, types });
  pool.on('error', logIdleClientError(options.logger ?? new Logger({ serviceName: 'untxt-db' })));

  return {
    kind: 'postgres',
    query: <R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]) =>
      run<R>(pool, text, params),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const tx: Queryable = {
          query: <R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]) =>
            run<R>(client, text, params),
        };
        const value = await fn(tx);
        await client.query('COMMIT');
        return value;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr; // the connection is unusable: destroy it rather than return it to the pool
        }
        throw err;
      } finally {
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
    close: () => pool.end(),
  };
}
