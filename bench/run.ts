/**
 * `npm run bench`: measures the data layer's design choices against the obvious alternative,
 * both run in this process on the same database, and reports the ratio (baseline ÷ untxt, so
 * above 1 means untxt is faster). Ratios, not absolute times, are what carry across machines.
 *
 *   - create: file + task + history in one statement (data-modifying CTEs) vs three INSERTs in a
 *     transaction (the baseline costs four more round trips; on Aurora each is a network hop).
 *   - list:   walking a user's tasks page by page with the keyset cursor vs LIMIT/OFFSET, whose
 *     cost grows with the page number.
 *
 * Runs on in-memory PGlite; set BENCH_DATABASE_URL to run on a PostgreSQL server instead
 * (it creates and drops its own database there).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Database, Queryable } from '../src/db/database';
import { runMigrations } from '../src/db/migrate';
import { createPgDatabase } from '../src/db/pg-database';
import { openPgliteDatabase } from '../src/db/pglite-database';
import { createUser } from '../src/db/repositories/users';
import { SUMMARY_SELECT, createFileAndTask, listTasks } from '../src/db/repositories/tasks';

const CREATE_ROUNDS = Number(process.env.BENCH_CREATE_ROUNDS ?? 200);
const LIST_ROWS = Number(process.env.BENCH_LIST_ROWS ?? 5000);
const PAGE = 50;

interface Row {
  scenario: string;
  baselineMs: number;
  untxtMs: number;
}

const sha = (): string => randomBytes(32).toString('hex');

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function baselineCreate(db: Database, ownerId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const fileId = randomUUID();
    const taskId = randomUUID();
    await tx.query(
      `INSERT INTO files (id, owner_id, original_name, content_type, size, sha256, s3_key)
       VALUES ($1, $2, 'scan.pdf', 'application/pdf', 1024, $3, $4)`,
      [fileId, ownerId, sha(), `uploads/${ownerId}/2026-11/${fileId}/original.pdf`],
    );
    await tx.query(
      `INSERT INTO tasks (id, owner_id, file_id, max_attempts, results_prefix) VALUES ($1, $2, $3, 3, $4)`,
      [taskId, ownerId, fileId, `results/${ownerId}/2026-11/${taskId}/`],
    );
    await tx.query(`INSERT INTO task_history (task_id, from_status, to_status) VALUES ($1, NULL, 'awaiting_upload')`, [
      taskId,
    ]);
  });
}

const untxtCreate = async (db: Queryable, ownerId: string): Promise<void> => {
  await createFileAndTask(db, {
    ownerId,
    originalName: 'scan.pdf',
    contentType: 'application/pdf',
    size: 1024,
    sha256: sha(),
  });
};

/** Interleaves the two so that drift (GC, a busy neighbour) hits both alike. */
async function benchCreate(db: Database, ownerId: string): Promise<Row> {
  let baselineMs = 0;
  let untxtMs = 0;
  for (let i = 0; i < CREATE_ROUNDS; i++) {
    baselineMs += await timed(() => baselineCreate(db, ownerId));
    untxtMs += await timed(() => untxtCreate(db, ownerId));
  }
  return { scenario: `create file+task+history ×${CREATE_ROUNDS}`, baselineMs, untxtMs };
}

async function walkWithOffset(db: Queryable, ownerId: string): Promise<number> {
  let seen = 0;
  for (let offset = 0; ; offset += PAGE) {
    const { rows } = await db.query(
      `${SUMMARY_SELECT} WHERE t.owner_id = $1 AND t.status <> 'deleted'
       ORDER BY t.created_at DESC, t.id DESC LIMIT $2 OFFSET $3`,
      [ownerId, PAGE + 1, offset],
    );
    seen += Math.min(rows.length, PAGE);
    if (rows.length <= PAGE) return seen;
  }
}

async function walkWithCursor(db: Queryable, ownerId: string): Promise<number> {
  let seen = 0;
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<typeof listTasks>> = await listTasks(db, { ownerId, limit: PAGE, cursor });
    seen += page.items.length;
    cursor = page.nextCursor;
  } while (cursor);
  return seen;
}

async function benchList(db: Database, ownerId: string): Promise<Row> {
  for (let i = 0; i < LIST_ROWS; i++) await untxtCreate(db, ownerId);
  await db.query('ANALYZE');
  let baselineMs = 0;
  let untxtMs = 0;
  for (let round = 0; round < 3; round++) {
    let a = 0;
    let b = 0;
    baselineMs += await timed(async () => {
      a = await walkWithOffset(db, ownerId);
    });
    untxtMs += await timed(async () => {
      b = await walkWithCursor(db, ownerId);
    });
    if (a !== b || b < LIST_ROWS) throw new Error(`walks disagree: offset saw ${a}, cursor saw ${b}`);
  }
  return { scenario: `list ${LIST_ROWS} tasks, ${PAGE} a page ×3`, baselineMs, untxtMs };
}

async function openDatabase(): Promise<{ db: Database; label: string; cleanup: () => Promise<void> }> {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    const db = await openPgliteDatabase();
    return { db, label: 'PGlite (in memory)', cleanup: () => db.close() };
  }
  const admin = createPgDatabase(url);
  const name = `untxt_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const db = createPgDatabase(target.toString());
  return {
    db,
    label: `PostgreSQL server (${target.host})`,
    cleanup: async () => {
      await db.close();
      await admin.query(`DROP DATABASE ${name}`);
      await admin.close();
    },
  };
}

function report(label: string, rows: Row[]): void {
  console.log(`\nuntxt data-layer bench on ${label}`);
  console.table(
    rows.map((r) => ({
      scenario: r.scenario,
      'baseline ms': Math.round(r.baselineMs),
      'untxt ms': Math.round(r.untxtMs),
      'ratio (baseline/untxt)': Number((r.baselineMs / r.untxtMs).toFixed(2)),
    })),
  );
}

async function main(): Promise<void> {
  const { db, label, cleanup } = await openDatabase();
  try {
    await runMigrations(db);
    const owner = await createUser(db, { email: `bench-${randomUUID()}@example.com`, passwordHash: 'x' });
    const listOwner = await createUser(db, { email: `bench-${randomUUID()}@example.com`, passwordHash: 'x' });
    const rows = [await benchCreate(db, owner.id), await benchList(db, listOwner.id)];
    report(label, rows);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
