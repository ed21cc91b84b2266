import { startOfUtcDay } from '../../domain/utc-day';
import type { Queryable } from '../database';

/**
 * Per-user abuse limits on task creation (DESIGN "HTTP API"):
 * - concurrent tasks: tasks not yet terminal (awaiting_upload, queued, processing);
 * - pages per day and bytes per day: over tasks created since 00:00 UTC, deleted and failed ones
 *   included (deleting a task must not refund its quota). A task whose pages are not counted yet
 *   (intake sets page_count) counts as one page.
 * The API checks them at creation (src/api/tasks/quota.ts), intake checks the pages it counted.
 */
export interface TaskUsage {
  active: number;
  pagesToday: number;
  bytesToday: number;
}

/** Pages a user may submit per UTC day unless configured otherwise (API and intake alike). */
export const DEFAULT_MAX_PAGES_PER_DAY = 10_000;

/**
 * Serialises task creation per user for the rest of the transaction, so two parallel requests
 * cannot both pass the same quota check. Namespaced (two-key form) so it never collides with
 * other advisory locks.
 */
export async function lockQuotaOf(tx: Queryable, userId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(7401, hashtext($1))', [userId]);
}

export async function taskUsage(db: Queryable, userId: string, dayStart: Date): Promise<TaskUsage> {
  const { rows } = await db.query<{ active: number; pages_today: number; bytes_today: number }>(
    `SELECT count(*) FILTER (WHERE t.status IN ('awaiting_upload', 'queued', 'processing'))::int AS active,
            coalesce(sum(coalesce(t.page_count, 1)) FILTER (WHERE t.created_at >= $2), 0)::float8 AS pages_today,
            coalesce(sum(f.size) FILTER (WHERE t.created_at >= $2), 0)::float8 AS bytes_today
     FROM tasks t JOIN files f ON f.id = t.file_id
     WHERE t.owner_id = $1
       AND (t.status IN ('awaiting_upload', 'queued', 'processing') OR t.created_at >= $2)`,
    [userId, dayStart],
  );
  const row = rows[0]!;
  return { active: Number(row.active), pagesToday: Number(row.pages_today), bytesToday: Number(row.bytes_today) };
}

/**
 * Intake's half of the daily page quota. At creation a task counts as one page (its pages are
 * unknown until intake counts them), so without this check ten 3,000-page PDFs would pass as ten
 * pages. Run under lockQuotaOf, in the transaction that queues the task, so two intakes of the
 * same user cannot both pass. The day is the task's own creation day, the one its creation was
 * counted against. Returns the pages left that day when `pageCount` does not fit, else null.
 */
export async function pagesOverDailyQuota(
  tx: Queryable,
  input: { userId: string; createdAt: Date; pageCount: number; maxPagesPerDay: number },
): Promise<{ left: number } | null> {
  const { pagesToday } = await taskUsage(tx, input.userId, startOfUtcDay(input.createdAt));
  // The task itself is in pagesToday as the one page it was counted as at creation.
  const others = pagesToday - 1;
  if (others + input.pageCount <= input.maxPagesPerDay) return null;
  return { left: Math.max(0, input.maxPagesPerDay - others) };
}
