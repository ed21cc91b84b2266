import { createHash } from 'node:crypto';
import type { Database, Queryable } from './database';
import { MIGRATIONS, type Migration } from './migrations';

/** Arbitrary constant shared by every runner; only migration runners take this advisory lock. */
const MIGRATION_LOCK_KEY = 7_347_101_001;

export class MigrationChecksumError extends Error {
  constructor(readonly migrationId: string) {
    super(`migration ${migrationId} was changed after it was applied; add a new migration instead`);
    this.name = 'MigrationChecksumError';
  }
}

export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(m.sql).digest('hex');
}

/**
 * Serialises runners for the rest of the transaction. Concurrent deploys (or a deploy racing a
 * local start) queue here instead of both applying a migration; the lock ends with the transaction.
 */
async function lock(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
}

async function appliedChecksums(tx: Queryable): Promise<Map<string, string>> {
  const { rows } = await tx.query<{ id: string; checksum: string }>('SELECT id, checksum FROM schema_migrations');
  return new Map(rows.map((r) => [r.id, r.checksum]));
}

/**
 * Applies pending migrations in order, each in its own transaction together with its
 * `schema_migrations` row. Safe to run repeatedly and concurrently. Refuses to run when an applied
 * migration's text changed. Migrations the code does not know (a newer deploy rolled back) are left alone.
 */
export async function runMigrations(
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<{ applied: string[] }> {
  await db.transaction(async (tx) => {
    await lock(tx);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id         text PRIMARY KEY,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const applied = await appliedChecksums(tx);
    for (const m of migrations) {
      const sum = applied.get(m.id);
      if (sum !== undefined && sum !== migrationChecksum(m)) throw new MigrationChecksumError(m.id);
    }
  });

  const done: string[] = [];
  for (const m of migrations) {
    const ran = await db.transaction(async (tx) => {
      await lock(tx);
      // Re-read under the lock: another runner may have applied it since the check above.
      const { rows } = await tx.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE id = $1', [m.id]);
      if (rows[0] !== undefined) {
        if (rows[0].checksum !== migrationChecksum(m)) throw new MigrationChecksumError(m.id);
        return false;
      }
      await tx.query(m.sql);
      await tx.query('INSERT INTO schema_migrations (id, checksum) VALUES ($1, $2)', [m.id, migrationChecksum(m)]);
      return true;
    });
    if (ran) done.push(m.id);
  }
  return { applied: done };
}
