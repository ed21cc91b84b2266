/**
 * Per-test-file databases on top of what globalSetup prepared. Each file gets its own database,
 * so test files run in parallel without seeing each other's rows.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Database } from '../../src/db/database';
import { runMigrations } from '../../src/db/migrate';
import { createPgDatabase } from '../../src/db/pg-database';
import { openPgliteDatabase } from '../../src/db/pglite-database';

export interface TestDatabase {
  db: Database;
  dispose(): Promise<void>;
}

/** A migrated PGlite database: a copy of the template, or (without one) a fresh in-memory database. */
export async function openTestPglite(): Promise<TestDatabase> {
  const template = process.env.UNTXT_TEST_PGLITE_TEMPLATE;
  if (!template) {
    const db = await openPgliteDatabase();
    await runMigrations(db);
    return { db, dispose: () => db.close() };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'untxt-pglite-test-'));
  fs.cpSync(template, dir, { recursive: true });
  const db = await openPgliteDatabase(dir);
  return {
    db,
    dispose: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestServer {
  url: string;
  version: string;
}

/**
 * The server globalSetup prepared. A `*.postgres.test.ts` file runs only where one can be (jest.config.js
 * leaves them out elsewhere, except under CI=true), so a missing one is an error, never a skip.
 */
export function testServer(): TestServer {
  const url = process.env.UNTXT_TEST_PG_URL;
  if (!url) throw new Error('globalSetup prepared no PostgreSQL server (set TEST_DATABASE_URL or install the server binaries)');
  return { url, version: process.env.UNTXT_TEST_PG_VERSION ?? 'unknown version' };
}

/** Swaps the database name of a connection URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A new, empty database on the server (not migrated), dropped by `drop`. */
export async function createServerDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `untxt_test_${randomBytes(6).toString('hex')}`;
  const admin = createPgDatabase({ connectionString: adminUrl, max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  return {
    url: withDatabase(adminUrl, name),
    drop: async () => {
      const a = createPgDatabase({ connectionString: adminUrl, max: 1 });
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.close();
      }
    },
  };
}

/** A migrated database of its own on the server. */
export async function openTestServerDatabase(adminUrl: string): Promise<TestDatabase> {
  const created = await createServerDatabase(adminUrl);
  const db = createPgDatabase({ connectionString: created.url, max: 10 });
  try {
    await runMigrations(db);
  } catch (err) {
    await db.close();
    await created.drop();
    throw err;
  }
  return {
    db,
    dispose: async () => {
      await db.close();
      await created.drop();
    },
  };
}
