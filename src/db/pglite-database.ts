import * as vm from 'node:vm';
import type { PGlite, Results, Transaction } from '@electric-sql/pglite';
import { type Database, type Queryable, type QueryResult, PG_OID, parseInt8 } from './database';

type PgliteModule = typeof import('@electric-sql/pglite');
type PgliteConn = Pick<PGlite | Transaction, 'query' | 'exec'>;

const OID = { DATE: 1082, TIMESTAMP: 1114, TIMESTAMPTZ: 1184, JSON: 114, JSONB: 3802 } as const;

let loaded: PgliteModule | undefined;

/**
 * PGlite's CommonJS build calls `import()` internally (fs/promises, node:module). Inside a vm
 * sandbox — jest runs every test file in one — that fails unless Node runs with
 * --experimental-vm-modules. So when we are in a sandbox, load PGlite with Node's own loader from
 * the main context; everywhere else (node, tsx, a bundle) a plain require.
 */
function loadPglite(): PgliteModule {
  if (loaded) return loaded;
  const mainGlobal = vm.runInThisContext('globalThis') as typeof globalThis;
  const hostModule =
    mainGlobal !== globalThis
      ? ((mainGlobal.process?.mainModule?.constructor ?? undefined) as typeof import('node:module') | undefined)
      : undefined;
  loaded = (
    hostModule?.createRequire ? hostModule.createRequire(__filename)('@electric-sql/pglite') : require('@electric-sql/pglite')
  ) as PgliteModule;
  return loaded;
}

/**
 * PGlite loaded from the main context (see above) builds values with that context's Date, Object
 * and Error, for which `instanceof` fails in the sandbox. Parsers, row copies and error wrapping
 * below make every value the adapter hands out belong to the caller's context. Outside a sandbox
 * they change nothing but keep the types identical to the node-postgres adapter.
 */
function toLocalDate(value: unknown): unknown {
  const t = value as { getTime?: () => number } | null;
  return t && typeof t.getTime === 'function' ? new Date(t.getTime()) : value;
}

/** A database error from PGlite with the same fields node-postgres errors carry. */
export class PgliteQueryError extends Error {
  code?: string;
  constraint?: string;
  detail?: string;
  hint?: string;
  schema?: string;
  table?: string;
  column?: string;
  severity?: string;
  where?: string;
}

const ERROR_FIELDS = ['code', 'constraint', 'detail', 'hint', 'schema', 'table', 'column', 'severity', 'where'] as const;

function localError(err: unknown): unknown {
  if (err instanceof Error || typeof err !== 'object' || err === null) return err;
  const src = err as Record<string, unknown>;
  const e = new PgliteQueryError(String(src.message ?? 'PGlite error'), { cause: err });
  for (const k of ERROR_FIELDS) if (typeof src[k] === 'string') e[k] = src[k] as string;
  return e;
}

function serializeParam(v: unknown): unknown {
  // PGlite checks `instanceof Date` with its own Date; an ISO string means the same to PostgreSQL.
  return Object.prototype.toString.call(v) === '[object Date]' ? (v as Date).toISOString() : v;
}

function toResult<R extends object>(res: Results<R> | undefined): QueryResult<R> {
  const rows = (res?.rows ?? []).map((r) => ({ ...r }) as R);
  // PGlite reports affectedRows for INSERT/UPDATE/DELETE; a SELECT's count is its rows.
  return { rows, rowCount: rows.length > 0 ? rows.length : (res?.affectedRows ?? 0) };
}

async function run<R extends object>(conn: PgliteConn, text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
  try {
    if (params !== undefined && params.length > 0) {
      return toResult(await conn.query<R>(text, params.map(serializeParam)));
    }
    // Parameterless: simple protocol, so migrations may hold several statements (as on node-postgres).
    const all = await conn.exec(text);
    return toResult(all[all.length - 1] as Results<R> | undefined);
  } catch (err) {
    throw localError(err);
  }
}

const queryable = (conn: PgliteConn): Queryable => ({
  query: <R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]) =>
    run<R>(conn, text, params),
});

/**
 * Opens (creating if needed) a PGlite database. `dataDir` undefined keeps it in memory.
 * PGlite is a single connection: statements and transactions are serialised by PGlite itself.
 */
export async function openPgliteDatabase(dataDir?: string): Promise<Database> {
  const { PGlite: PGliteClass, types } = loadPglite();
  const parseDate = (x: string, typeId?: number): unknown => toLocalDate(types.parseType(x, typeId ?? OID.TIMESTAMPTZ));
  const pglite = await PGliteClass.create({
    ...(dataDir === undefined ? {} : { dataDir }),
    parsers: {
      [PG_OID.INT8]: parseInt8,
      [OID.DATE]: parseDate,
      [OID.TIMESTAMP]: parseDate,
      [OID.TIMESTAMPTZ]: parseDate,
      [OID.JSON]: (x: string) => JSON.parse(x) as unknown,
      [OID.JSONB]: (x: string) => JSON.parse(x) as unknown,
    },
  });

  return {
    kind: 'pglite',
    ...queryable(pglite),
    transaction: async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
      try {
        return await pglite.transaction((t) => fn(queryable(t)));
      } catch (err) {
        throw localError(err);
      }
    },
    close: () => pglite.close(),
  };
}
