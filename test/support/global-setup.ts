/**
 * Prepares the databases the repository suite runs on, once per jest run:
 * - PGlite: a migrated template folder (see pglite-template.ts) → UNTXT_TEST_PGLITE_TEMPLATE.
 * - PostgreSQL server: TEST_DATABASE_URL if set; otherwise a throwaway cluster from the installed
 *   server binaries → UNTXT_TEST_PG_URL (workers inherit env set here). Without either, the server
 *   suite is skipped with its reason in UNTXT_TEST_PG_SKIP, except under CI=true, where this fails.
 * Skipped entirely when the run's path patterns select no data-layer test.
 */
import * as path from 'node:path';
import { Client } from 'pg';
import { ensurePgliteTemplate } from './pglite-template';
import { findPostgresBinDir, startThrowawayServer } from './postgres-server';
import { setHarnessState } from './harness-state';

interface GlobalConfigLike {
  rootDir: string;
  testPathPatterns?: { patterns?: readonly string[] };
}

const DATA_TESTS = [
  'test/db/repositories.pglite.test.ts',
  'test/db/repositories.postgres.test.ts',
  'test/pipeline/roles.postgres.test.ts',
  'test/api/tasks/tasks.pglite.test.ts',
  'test/api/tasks/tasks.postgres.test.ts',
  'test/api/auth/auth-cores.pglite.test.ts',
  'test/api/auth/auth-cores.postgres.test.ts',
];

function selectsDataTests(config: GlobalConfigLike): boolean {
  const patterns = config.testPathPatterns?.patterns ?? [];
  if (patterns.length === 0) return true;
  const files = DATA_TESTS.map((f) => path.join(config.rootDir, f));
  return patterns.some((p) => {
    try {
      const re = new RegExp(p, 'i');
      return files.some((f) => re.test(f));
    } catch {
      return true;
    }
  });
}

async function serverVersion(url: string): Promise<string> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return rows[0]!.v.split(' ')[0]!;
  } finally {
    await client.end();
  }
}

async function preparePostgres(): Promise<void> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    process.env.UNTXT_TEST_PG_URL = given;
    process.env.UNTXT_TEST_PG_VERSION = await serverVersion(given);
    process.env.UNTXT_TEST_PG_SOURCE = 'TEST_DATABASE_URL';
    return;
  }
  const binDir = findPostgresBinDir();
  if (!binDir) {
    // jest.config.js has left the server suites out (and says so at the end), except under CI=true.
    if (process.env.CI === 'true') {
      throw new Error('PostgreSQL server suites cannot run under CI=true: no TEST_DATABASE_URL and no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb). Install the postgresql package or set TEST_DATABASE_URL.');
    }
    return;
  }
  const server = await startThrowawayServer(binDir);
  setHarnessState({ stopServer: server.stop });
  // If jest dies without running the teardown, do not leave a postmaster behind.
  process.once('exit', server.stop);
  process.env.UNTXT_TEST_PG_URL = server.url;
  process.env.UNTXT_TEST_PG_VERSION = await serverVersion(server.url);
  process.env.UNTXT_TEST_PG_SOURCE = `throwaway cluster from ${binDir}`;
}

export default async function globalSetup(config: GlobalConfigLike): Promise<void> {
  if (!selectsDataTests(config)) return;
  const [template] = await Promise.all([ensurePgliteTemplate(), preparePostgres()]);
  process.env.UNTXT_TEST_PGLITE_TEMPLATE = template.dir;
  process.env.UNTXT_TEST_PGLITE_VERSION = template.version;
}
