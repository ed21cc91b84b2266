/**
 * The database backends the API core integration suites run on: PGlite (one connection, the
 * schema owner) and a real PostgreSQL server, where the cores connect as the least-privilege login
 * role untxt_api, as they do in AWS, so a missing grant fails a test. Each suite is a module that
 * registers its cases for one backend; a `*.pglite.test.ts` and a `*.postgres.test.ts` file
 * register it once each (like test/db/repository-suite.ts).
 */
import type { Database } from '../../../src/db/database';
import { sqlState } from '../../../src/db/database';
import { runMigrations } from '../../../src/db/migrate';
import { createPgDatabase } from '../../../src/db/pg-database';
import { API_ROLE, provisionLoginRoles } from '../../../src/db/roles';
import { createServerDatabase, openTestPglite, testServer, type TestDatabase, type TestServer } from '../../support/test-databases';

export interface ApiTestDatabase extends TestDatabase {
  /** What the API cores use: the untxt_api login on a server, the one connection on PGlite. */
  db: Database;
  /**
   * The schema owner, for what the API role may not do: the worker's writes in fixtures (results)
   * and assertions on the audit trail (untxt_api may only append to it).
   */
  owner: Database;
}

export interface ApiBackend {
  /** Appended to every suite title, so the output says which backend ran. */
  name: string;
  open(): Promise<ApiTestDatabase>;
}

export const pgliteBackend: ApiBackend = {
  name: `PGlite (PostgreSQL ${process.env.UNTXT_TEST_PGLITE_VERSION ?? '18'} in WebAssembly)`,
  open: async () => {
    const database = await openTestPglite();
    return { ...database, owner: database.db };
  },
};

/** Whether an error is PostgreSQL's "tuple concurrently updated" (XX000) on a shared catalog row. */
function concurrentCatalogUpdate(err: unknown): boolean {
  return sqlState(err) === 'XX000' && /concurrently/.test(String(err));
}

/**
 * Roles are cluster-wide: test files provisioning their own databases in parallel can meet on the
 * same pg_authid row the first time the roles are created. A deploy provisions one database, so
 * this retry belongs to the tests only.
 */
async function provisionForTests(owner: Database): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await provisionLoginRoles(owner, { iamAuth: false });
      return;
    } catch (err) {
      if (attempt >= 5 || !concurrentCatalogUpdate(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

function asLogin(url: string, role: string, max: number): Database {
  const u = new URL(url);
  u.username = role;
  u.password = '';
  return createPgDatabase({ connectionString: u.toString(), max });
}

/**
 * A database of its own on the server: migrated and provisioned by the owner, then opened as
 * untxt_api with a pool of several connections, so parallel requests really run in parallel.
 */
export function serverBackend(server: TestServer = testServer()): ApiBackend {
  return {
    name: `PostgreSQL server ${server.version} as ${API_ROLE}`,
    open: async () => {
      const created = await createServerDatabase(server.url);
      const owner = createPgDatabase({ connectionString: created.url, max: 2 });
      try {
        await runMigrations(owner);
        await provisionForTests(owner);
      } catch (err) {
        await owner.close();
        await created.drop();
        throw err;
      }
      const db = asLogin(created.url, API_ROLE, 8);
      const { rows } = await db.query<{ who: string }>('SELECT current_user AS who');
      if (rows[0]?.who !== API_ROLE) throw new Error(`expected to be logged in as ${API_ROLE}, not ${rows[0]?.who}`);
      return {
        db,
        owner,
        dispose: async () => {
          await Promise.all([db.close(), owner.close()]);
          await created.drop();
        },
      };
    },
  };
}

