/**
 * The task aggregate: its file, its lifecycle, its result and its history.
 *
 * Every state change but deletion is ONE statement (data-modifying CTEs), so it is atomic without a
 * transaction, costs one round trip to Aurora, and can be composed into a caller's transaction:
 * these functions take a `Queryable`. Deletion locks first and writes in a second statement (see
 * deleteTask), so it runs in a transaction of its own. Moves are forward-only, enforced by `WHERE status = <expected>`;
 * under READ COMMITTED a concurrent writer re-checks that condition against the committed row, so
 * at most one of two racing moves applies.
 */
import { randomUUID } from 'node:crypto';
import {
  type FileRecord,
  InvalidTransitionError,
  type ResultRecord,
  type TaskHistoryRecord,
  type TaskRecord,
  type TaskStatus,
  assertTransition,
  isTaskStatus,
  isTerminal,
} from '../../domain/task';
import { isUuid } from '../../domain/ids';
import { resultsPrefix as buildResultsPrefix, uploadKey as buildUploadKey } from '../../domain/storage-keys';
import type { Database, Queryable } from '../database';
import { decodeCursor, encodeCursor } from './cursor';
import {
  FILE_COLUMNS_PREFIXED,
  type PrefixedFileRow,
  type ResultRow,
  type TaskHistoryRow,
  type TaskRow,
  mapHistory,
  mapPrefixedFile,
  mapResult,
  mapTask,
  taskColumns,
} from './rows';

export const DEFAULT_MAX_ATTEMPTS = 3;

// ---------------------------------------------------------------------------------------------
// Creation

export interface NewFileAndTask {
  ownerId: string;
  originalName: string;
  contentType: string;
  size: number;
  /** Lower-case hex. */
  sha256: string;
  maxAttempts?: number;
  /** Normally generated here; accepted so a caller can pre-compute keys or tests can collide them. */
  fileId?: string;
  taskId?: string;
  s3Key?: string;
  resultsPrefix?: string;
}

export interface CreatedTask {
  task: TaskRecord;
  file: FileRecord;
  /** History id of the initial `awaiting_upload` row. */
  seq: number;
}

/**
 * Inserts the file, its task (`awaiting_upload`) and the first history row in one statement.
 *
 * `created_at` is the clock at this statement, not the column default `now()`: `now()` is the
 * start of the transaction, so a task created late in a long transaction would commit with a
 * time older than rows (and list cursors) already handed out, and appear behind a page the
 * owner has already read. Milliseconds, so it round-trips through a JS Date and a cursor (the
 * table's CHECK). For the same reason every later `updated_at` is `clock_timestamp()`: `now()`
 * in the creating transaction could be older than `created_at` (`tasks_updated_after_created`).
 */
export async function createFileAndTask(db: Queryable, input: NewFileAndTask): Promise<CreatedTask> {
  const now = new Date();
  const fileId = input.fileId ?? randomUUID();
  const taskId = input.taskId ?? randomUUID();
  const s3Key =
    input.s3Key ?? buildUploadKey({ userId: input.ownerId, fileId, contentType: input.contentType, at: now });
  const prefix = input.resultsPrefix ?? buildResultsPrefix({ userId: input.ownerId, taskId, at: now });

  const { rows } = await db.query<TaskRow & PrefixedFileRow & { seq: number }>(
    `WITH f AS (
       INSERT INTO files (id, owner_id, original_name, content_type, size, sha256, s3_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       RETURNING *
     ), t AS (
       INSERT INTO tasks (id, owner_id, file_id, max_attempts, results_prefix, created_at, updated_at)
       SELECT $8::uuid, f.owner_id, f.id, $9::int, $10::text, c.at, c.at
       FROM f, (SELECT date_trunc('milliseconds', clock_timestamp()) AS at) c
       RETURNING *
     ), h AS (
       INSERT INTO task_history (task_id, from_status, to_status)
       SELECT t.id, NULL, t.status FROM t
       RETURNING id
     )
     SELECT ${taskColumns('t')}, h.id AS seq, ${FILE_COLUMNS_PREFIXED('f')}
     FROM t, h, f`,
    [
      fileId,
      input.ownerId,
      input.originalName,
      input.contentType.toLowerCase(),
      input.size,
      input.sha256.toLowerCase(),
      s3Key,
      taskId,
      input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      prefix,
    ],
  );
  const row = rows[0]!;
  return { task: mapTask(row), file: mapPrefixedFile(row), seq: row.seq };
}

// ---------------------------------------------------------------------------------------------
// Plain transitions (intake, sweeper, worker failure)

export interface TransitionInput {
  taskId: string;
  from: TaskStatus;
  to: TaskStatus;
  /** Required when `to` is `failed`. snake_case, e.g. `upload_expired`. */
  errorCode?: string;
  errorMessage?: string;
  /** Intake sets it on `awaiting_upload → queued`. */
  pageCount?: number;
  /**
   * Required to move a task out of `processing`: it only moves while this claim still holds it,
   * so a worker that lost its lease cannot fail the task under the attempt that owns it now.
   * Without a claim (sweeper, DLQ consumer) use failAbandonedTask. Ignored for other states.
   */
  leaseToken?: string;
}

export type TransitionOutcome =
  | { applied: true; task: TaskRecord; seq: number }
  | { applied: false; task?: undefined; seq?: undefined };

/**
 * Moves a task `from → to` if, and only if, it is still in `from`. Not applied (and no history
 * written) when another writer got there first: a late or duplicated message changes nothing.
 * Moves with their own entry point are refused here: → processing (claimTask), → completed
 * (completeTask, which records the result), → deleted (deleteTask, which erases names and text).
 */
export async function transitionTask(db: Queryable, input: TransitionInput): Promise<TransitionOutcome> {
  assertTransition(input.from, input.to);
  const dedicated: Partial<Record<TaskStatus, string>> = {
    processing: 'use claimTask',
    completed: 'use completeTask',
    deleted: 'use deleteTask',
  };
  const reason = dedicated[input.to];
  if (reason !== undefined) throw new InvalidTransitionError(input.from, input.to, reason);
  if (input.to === 'failed' && !input.errorCode) {
    throw new InvalidTransitionError(input.from, input.to, 'a failure needs an errorCode');
  }
  if (input.from === 'processing' && input.leaseToken === undefined) {
    throw new InvalidTransitionError(input.from, input.to, 'needs the leaseToken (or failAbandonedTask)');
  }
  if (!isUuid(input.taskId)) return { applied: false };
  // A malformed token holds no lease: NULL never equals lease_token, so the move is not applied.
  const token = input.leaseToken !== undefined && isUuid(input.leaseToken) ? input.leaseToken : null;

  const { rows } = await db.query<TaskRow & { seq: number }>(
    `WITH t AS (
       UPDATE tasks
       SET status = $3, error_code = $4, error_message = $5,
           page_count = coalesce($6::int, page_count),
           lease_until = NULL, lease_token = NULL, updated_at = clock_timestamp()
       WHERE id = $1 AND status = $2 AND (status <> 'processing' OR lease_token = $7::uuid)
       RETURNING *
     ), h AS (
       INSERT INTO task_history (task_id, from_status, to_status, error_code)
       SELECT t.id, $2, t.status, t.error_code FROM t
       RETURNING id
     )
     SELECT t.*, h.id AS seq FROM t, h`,
    [
      input.taskId,
      input.from,
      input.to,
      input.errorCode ?? null,
      input.errorMessage ?? null,
      input.pageCount ?? null,
      token,
    ],
  );
  const row = rows[0];
  return row ? { applied: true, task: mapTask(row), seq: row.seq } : { applied: false };
}

/**
 * Sweeper and DLQ consumer: fails a `processing` task that no worker holds any more, without a
 * lease token. Applies only when the lease has expired by the database clock (its worker died or
 * its attempts ran out, since a claim refused as `exhausted` always has an expired lease), so it
 * can never override a live lease: a worker that is still renewing keeps its task.
 */
export async function failAbandonedTask(
  db: Queryable,
  input: { taskId: string; errorCode: string; errorMessage?: string },
): Promise<TransitionOutcome> {
  if (!input.errorCode) throw new InvalidTransitionError('processing', 'failed', 'a failure needs an errorCode');
  if (!isUuid(input.taskId)) return { applied: false };
  const { rows } = await db.query<TaskRow & { seq: number }>(
    `WITH t AS (
       UPDATE tasks
       SET status = 'failed', error_code = $2, error_message = $3,
           lease_until = NULL, lease_token = NULL, updated_at = clock_timestamp()
       WHERE id = $1 AND status = 'processing' AND lease_until < now()
       RETURNING *
     ), h AS (
       INSERT INTO task_history (task_id, from_status, to_status, error_code)
       SELECT t.id, 'processing', 'failed', t.error_code FROM t
       RETURNING id
     )
     SELECT t.*, h.id AS seq FROM t, h`,
    [input.taskId, input.errorCode, input.errorMessage ?? null],
  );
  const row = rows[0];
  return row ? { applied: true, task: mapTask(row), seq: row.seq } : { applied: false };
}

// ---------------------------------------------------------------------------------------------
// Claims and leases (GPU worker)

export type ClaimRefusal = 'terminal' | 'leased' | 'exhausted' | 'missing' | 'not_ready';

export type ClaimOutcome =
  | { claimed: true; task: TaskRecord; leaseToken: string; seq?: number }
  | { claimed: false; reason: ClaimRefusal; leaseUntil?: Date };

/**
 * Claims a task for `leaseSeconds`, counting an attempt. Claimable: `queued`, or `processing`
 * with an expired lease (its worker died), while attempts remain. History is written only for
 * `queued → processing`; a re-claim does not change the status.
 *
 * Refusals tell the worker what to do with the message: `terminal`/`missing` → delete it;
 * `leased` → hide it until `leaseUntil`; `exhausted` → fail the task (`attempts_exhausted`),
 * then delete it; `not_ready` (still `awaiting_upload`) → retry later.
 */
export async function claimTask(
  db: Queryable,
  input: { taskId: string; leaseSeconds: number },
): Promise<ClaimOutcome> {
  if (!isUuid(input.taskId)) return { claimed: false, reason: 'missing' };
  assertLeaseSeconds(input.leaseSeconds);

  // `prev` locks the row and remembers the status before the update, which RETURNING cannot show.
  const { rows } = await db.query<TaskRow & { prev_status: TaskStatus; seq: number | null }>(
    `WITH prev AS (
       SELECT id, status FROM tasks WHERE id = $1 FOR UPDATE
     ), c AS (
       UPDATE tasks t
       SET status = 'processing',
           lease_until = now() + make_interval(secs => $2),
           lease_token = gen_random_uuid(),
           attempts = t.attempts + 1,
           updated_at = clock_timestamp()
       FROM prev
       WHERE t.id = prev.id
         AND t.attempts < t.max_attempts
         AND (t.status = 'queued' OR (t.status = 'processing' AND t.lease_until < now()))
       RETURNING t.*, prev.status AS prev_status
     ), h AS (
       INSERT INTO task_history (task_id, from_status, to_status)
       SELECT c.id, 'queued', 'processing' FROM c WHERE c.prev_status = 'queued'
       RETURNING id
     )
     SELECT c.*, (SELECT id FROM h) AS seq FROM c`,
    [input.taskId, input.leaseSeconds],
  );
  const row = rows[0];
  if (row) {
    return {
      claimed: true,
      task: mapTask(row),
      leaseToken: row.lease_token!,
      ...(row.seq !== null ? { seq: row.seq } : {}),
    };
  }
  return explainRefusedClaim(db, input.taskId);
}

async function explainRefusedClaim(db: Queryable, taskId: string): Promise<ClaimOutcome> {
  // Judged against the database clock, not the worker's.
  const { rows } = await db.query<{
    status: TaskStatus;
    attempts: number;
    max_attempts: number;
    lease_until: Date | null;
    lease_live: boolean | null;
  }>(
    `SELECT status, attempts, max_attempts, lease_until, lease_until >= now() AS lease_live
     FROM tasks WHERE id = $1`,
    [taskId],
  );
  const t = rows[0];
  if (!t) return { claimed: false, reason: 'missing' };
  if (isTerminal(t.status)) return { claimed: false, reason: 'terminal' };
  if (t.status === 'processing' && t.lease_live && t.lease_until) {
    return { claimed: false, reason: 'leased', leaseUntil: t.lease_until };
  }
  if (t.attempts >= t.max_attempts) return { claimed: false, reason: 'exhausted' };
  // awaiting_upload, or a race that ended between the two statements: try again later.
  return { claimed: false, reason: 'not_ready' };
}

/** A lease length the database accepts: positive and finite (NaN and Infinity would reach SQL as errors). */
function assertLeaseSeconds(leaseSeconds: number): void {
  if (!(Number.isFinite(leaseSeconds) && leaseSeconds > 0)) {
    throw new RangeError('leaseSeconds must be a positive, finite number');
  }
}

/** Ids that are not UUIDs can hold no claim; refused here rather than as SQLSTATE 22P02. */
const holdsWellFormedClaim = (input: { taskId: string; leaseToken: string }): boolean =>
  isUuid(input.taskId) && isUuid(input.leaseToken);

/** Extends a held lease. Refused when the claim was lost (expired and re-claimed, or the task moved on). */
export async function renewLease(
  db: Queryable,
  input: { taskId: string; leaseToken: string; leaseSeconds: number },
): Promise<{ renewed: true; leaseUntil: Date } | { renewed: false }> {
  assertLeaseSeconds(input.leaseSeconds);
  if (!holdsWellFormedClaim(input)) return { renewed: false };
  const { rows } = await db.query<{ lease_until: Date }>(
    `UPDATE tasks SET lease_until = now() + make_interval(secs => $3)
     WHERE id = $1 AND status = 'processing' AND lease_token = $2
     RETURNING lease_until`,
    [input.taskId, input.leaseToken, input.leaseSeconds],
  );
  return rows[0] ? { renewed: true, leaseUntil: rows[0].lease_until } : { renewed: false };
}

/**
 * Clean release (SIGTERM, scale-in): the lease ends now and the attempt is given back, so the
 * next claim can start at once and an interruption never uses up the task's attempts.
 */
export async function releaseLease(
  db: Queryable,
  input: { taskId: string; leaseToken: string },
): Promise<boolean> {
  if (!holdsWellFormedClaim(input)) return false;
  const { rowCount } = await db.query(
    // In the past rather than NULL: the claim statement's `lease_until < now()` must hold at once.
    `UPDATE tasks
     SET lease_until = now() - interval '1 millisecond', lease_token = NULL, attempts = attempts - 1
     WHERE id = $1 AND status = 'processing' AND lease_token = $2`,
    [input.taskId, input.leaseToken],
  );
  return rowCount > 0;
}

/**
 * Ends every lease still running, for a restart where no holder can be alive (local mode on
 * PGlite: only one process can open the data folder). Unlike `releaseLease` the attempt is kept:
 * the holder died rather than gave the task back. Returns how many leases were ended.
 */
export async function endLiveLeases(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE tasks SET lease_until = now() - interval '1 second' WHERE status = 'processing' AND lease_until >= now()`,
  );
  return rowCount;
}

/**
 * Checkpoints progress. `pagesDone` only grows (pages finish out of order across concurrent
 * requests; a late, smaller count must not move it back). `pageCount` may be set by the worker
 * when intake could not count pages cheaply.
 */
export async function recordPageDone(
  db: Queryable,
  input: { taskId: string; leaseToken: string; pagesDone: number; pageCount?: number },
): Promise<{ applied: true; task: TaskRecord } | { applied: false }> {
  if (!Number.isSafeInteger(input.pagesDone) || input.pagesDone < 0) {
    throw new RangeError('pagesDone must be a non-negative integer');
  }
  if (input.pageCount !== undefined && (!Number.isSafeInteger(input.pageCount) || input.pageCount < 1)) {
    throw new RangeError('pageCount must be a positive integer');
  }
  if (!holdsWellFormedClaim(input)) return { applied: false };
  const { rows } = await db.query<TaskRow>(
    `UPDATE tasks
     SET page_count = coalesce($4::int, page_count),
         pages_done = greatest(pages_done, $3::int),
         updated_at = clock_timestamp()
     WHERE id = $1 AND status = 'processing' AND lease_token = $2
     RETURNING *`,
    [input.taskId, input.leaseToken, input.pagesDone, input.pageCount ?? null],
  );
  return rows[0] ? { applied: true, task: mapTask(rows[0]) } : { applied: false };
}

// ---------------------------------------------------------------------------------------------
// Completion

/** What the worker records; the id, task and creation time are set by the database. */
export type NewResult = Omit<ResultRecord, 'id' | 'taskId' | 'createdAt'>;

export type CompleteRefusal = 'already_completed' | 'deleted' | 'failed' | 'lease_lost' | 'not_processing' | 'missing';

export type CompleteOutcome =
  | { applied: true; task: TaskRecord; result: ResultRecord; seq: number }
  | { applied: false; reason: CompleteRefusal };

/**
 * Records the result and moves `processing → completed` in one statement. A second delivery
 * finds the task completed and reports `already_completed` (no second result row: the move
 * and the insert stand or fall together, and `results.task_id` is unique). `deleted` means the
 * user deleted the task meanwhile: the caller must erase the objects it wrote. `lease_lost`:
 * this claim no longer holds the task (another attempt owns it now); erase what this one wrote.
 * The lease token is required: completing is only ever done by the claim that holds the task.
 */
export async function completeTask(
  db: Queryable,
  input: { taskId: string; leaseToken: string; result: NewResult },
): Promise<CompleteOutcome> {
  if (!isUuid(input.taskId)) return { applied: false, reason: 'missing' };
  const r = input.result;
  // A missing or malformed token holds no lease: NULL never equals lease_token.
  const token = typeof input.leaseToken === 'string' && isUuid(input.leaseToken) ? input.leaseToken : null;
  const { rows } = await db.query<TaskRow & { seq: number; result_id: string; result_created_at: Date }>(
    `WITH t AS (
       UPDATE tasks
       SET status = 'completed', page_count = $2::int, pages_done = $2::int,
           lease_until = NULL, lease_token = NULL, updated_at = clock_timestamp()
       WHERE id = $1 AND status = 'processing' AND lease_token = $3::uuid
       RETURNING *
     ), r AS (
       INSERT INTO results (task_id, html_key, text_key, json_key, text, confidence, word_count,
                            page_count, processing_ms, model)
       SELECT t.id, $4, $5, $6, $7, $8, $9, $2::int, $10, $11 FROM t
       RETURNING id, created_at
     ), h AS (
       INSERT INTO task_history (task_id, from_status, to_status)
       SELECT t.id, 'processing', 'completed' FROM t
       RETURNING id
     )
     SELECT t.*, h.id AS seq, r.id AS result_id, r.created_at AS result_created_at FROM t, r, h`,
    [
      input.taskId,
      r.pageCount,
      token,
      r.htmlKey,
      r.textKey,
      r.jsonKey,
      r.text,
      r.confidence,
      r.wordCount,
      r.processingMs,
      r.model,
    ],
  );
  const row = rows[0];
  if (row) {
    const result: ResultRecord = { id: row.result_id, taskId: row.id, ...r, createdAt: row.result_created_at };
    return { applied: true, task: mapTask(row), result, seq: row.seq };
  }

  const { rows: now } = await db.query<{ status: TaskStatus }>('SELECT status FROM tasks WHERE id = $1', [
    input.taskId,
  ]);
  const status = now[0]?.status;
  const reason: CompleteRefusal =
    status === undefined
      ? 'missing'
      : status === 'completed'
        ? 'already_completed'
        : status === 'deleted' || status === 'failed'
          ? status
          : status === 'processing'
            ? 'lease_lost'
            : 'not_processing';
  return { applied: false, reason };
}

// ---------------------------------------------------------------------------------------------
// Reading, as the owner sees it

export interface TaskSummary extends TaskRecord {
  /** The original file name; null once deleted. */
  filename: string | null;
  contentType: string;
  size: number;
}

export type ResultSummary = Omit<ResultRecord, 'text'>;

export interface TaskDetail extends TaskSummary {
  /** Present once completed; the extracted text is fetched separately (getResult). */
  result: ResultSummary | null;
}

type SummaryRow = TaskRow & { filename: string | null; content_type: string; size: number };

const mapSummary = (r: SummaryRow): TaskSummary => ({
  ...mapTask(r),
  filename: r.filename,
  contentType: r.content_type,
  size: r.size,
});

/** The columns a task list shows; exported so the bench's OFFSET baseline reads exactly the same rows. */
export const SUMMARY_SELECT = `SELECT ${taskColumns('t')}, f.original_name AS filename, f.content_type, f.size
  FROM tasks t JOIN files f ON f.id = t.file_id`;

export const MAX_LIST_LIMIT = 100;

/**
 * The owner's tasks, newest first, `limit` at a time. `nextCursor` is null on the last page.
 * Keyset pagination on (created_at, id): rows inserted between two pages are newer than the
 * cursor, so they never shift, duplicate or hide rows of later pages. Deleted tasks are never listed.
 * Throws InvalidCursorError for a cursor that was not produced here.
 */
export async function listTasks(
  db: Queryable,
  input: { ownerId: string; status?: TaskStatus; limit: number; cursor?: string | null },
): Promise<{ items: TaskSummary[]; nextCursor: string | null }> {
  if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > MAX_LIST_LIMIT) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
  }
  if (input.status !== undefined && !isTaskStatus(input.status)) throw new RangeError('unknown task status');
  const after = input.cursor ? decodeCursor(input.cursor) : undefined;
  if (input.status === 'deleted' || !isUuid(input.ownerId)) return { items: [], nextCursor: null };

  // Built per shape (not `$n IS NULL OR …`) so each variant gets a plan that uses its index.
  const params: unknown[] = [input.ownerId];
  const where = [`t.owner_id = $1`, `t.status <> 'deleted'`];
  if (input.status !== undefined) {
    params.push(input.status);
    where.push(`t.status = $${params.length}`);
  }
  if (after) {
    params.push(after.createdAt, after.id);
    where.push(`(t.created_at, t.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(input.limit + 1); // one extra row tells whether another page exists
  const { rows } = await db.query<SummaryRow>(
    `${SUMMARY_SELECT} WHERE ${where.join(' AND ')}
     ORDER BY t.created_at DESC, t.id DESC LIMIT $${params.length}`,
    params,
  );
  const items = rows.slice(0, input.limit).map(mapSummary);
  const last = items[items.length - 1];
  const nextCursor =
    rows.length > input.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null;
  return { items, nextCursor };
}

/** One task of the owner. Null when missing, malformed, deleted or someone else's: all look the same. */
export async function getTask(db: Queryable, input: { ownerId: string; taskId: string }): Promise<TaskDetail | null> {
  if (!isUuid(input.taskId) || !isUuid(input.ownerId)) return null;
  const { rows } = await db.query<
    SummaryRow & { [K in keyof ResultRow as `r_${K}`]: ResultRow[K] | null }
  >(
    `SELECT ${taskColumns('t')}, f.original_name AS filename, f.content_type, f.size,
            r.id AS r_id, r.task_id AS r_task_id, r.html_key AS r_html_key, r.text_key AS r_text_key,
            r.json_key AS r_json_key, r.confidence AS r_confidence, r.word_count AS r_word_count,
            r.page_count AS r_page_count, r.processing_ms AS r_processing_ms, r.model AS r_model,
            r.created_at AS r_created_at
     FROM tasks t JOIN files f ON f.id = t.file_id LEFT JOIN results r ON r.task_id = t.id
     WHERE t.id = $1 AND t.owner_id = $2 AND t.status <> 'deleted'`,
    [input.taskId, input.ownerId],
  );
  const row = rows[0];
  if (!row) return null;
  const result: ResultSummary | null =
    row.r_id === null
      ? null
      : {
          id: row.r_id,
          taskId: row.r_task_id!,
          htmlKey: row.r_html_key!,
          textKey: row.r_text_key!,
          jsonKey: row.r_json_key!,
          confidence: row.r_confidence,
          wordCount: row.r_word_count!,
          pageCount: row.r_page_count!,
          processingMs: row.r_processing_ms!,
          model: row.r_model!,
          createdAt: row.r_created_at!,
        };
  return { ...mapSummary(row), result };
}

/** The owner's result, extracted text included. Null unless the task is completed and not deleted. */
export async function getResult(db: Queryable, input: { ownerId: string; taskId: string }): Promise<ResultRecord | null> {
  if (!isUuid(input.taskId) || !isUuid(input.ownerId)) return null;
  const { rows } = await db.query<ResultRow>(
    `SELECT r.* FROM results r JOIN tasks t ON t.id = r.task_id
     WHERE t.id = $1 AND t.owner_id = $2 AND t.status = 'completed'`,
    [input.taskId, input.ownerId],
  );
  return rows[0] ? mapResult(rows[0]) : null;
}

/** Every transition of a task, oldest first. */
export async function getTaskHistory(db: Queryable, taskId: string): Promise<TaskHistoryRecord[]> {
  if (!isUuid(taskId)) return [];
  const { rows } = await db.query<TaskHistoryRow>(
    'SELECT * FROM task_history WHERE task_id = $1 ORDER BY id',
    [taskId],
  );
  return rows.map(mapHistory);
}

// ---------------------------------------------------------------------------------------------
// Reading, as the pipeline sees it (no owner scope; never the file name)

/** What intake and the worker need to fetch an upload. Excludes the original name on purpose. */
export interface UploadRef {
  fileId: string;
  s3Key: string;
  contentType: string;
  size: number;
  sha256: string;
}

export async function findTaskById(db: Queryable, taskId: string): Promise<TaskRecord | null> {
  if (!isUuid(taskId)) return null;
  const { rows } = await db.query<TaskRow>('SELECT * FROM tasks WHERE id = $1', [taskId]);
  return rows[0] ? mapTask(rows[0]) : null;
}

type TaskWithUploadRow = TaskRow & { u_s3_key: string; u_content_type: string; u_size: number; u_sha256: string };

const TASK_WITH_UPLOAD = `SELECT ${taskColumns('t')}, f.s3_key AS u_s3_key, f.content_type AS u_content_type,
    f.size AS u_size, f.sha256 AS u_sha256
  FROM tasks t JOIN files f ON f.id = t.file_id`;

const mapTaskWithUpload = (r: TaskWithUploadRow): { task: TaskRecord; upload: UploadRef } => ({
  task: mapTask(r),
  upload: { fileId: r.file_id, s3Key: r.u_s3_key, contentType: r.u_content_type, size: r.u_size, sha256: r.u_sha256 },
});

/** Intake: the task an uploaded object belongs to (any state; intake decides what a deleted one means). */
export async function findTaskByUploadKey(
  db: Queryable,
  s3Key: string,
): Promise<{ task: TaskRecord; upload: UploadRef } | null> {
  const { rows } = await db.query<TaskWithUploadRow>(`${TASK_WITH_UPLOAD} WHERE f.s3_key = $1`, [s3Key]);
  return rows[0] ? mapTaskWithUpload(rows[0]) : null;
}

/** Worker: a task with the upload to read. */
export async function findTaskWithUpload(
  db: Queryable,
  taskId: string,
): Promise<{ task: TaskRecord; upload: UploadRef } | null> {
  if (!isUuid(taskId)) return null;
  const { rows } = await db.query<TaskWithUploadRow>(`${TASK_WITH_UPLOAD} WHERE t.id = $1`, [taskId]);
  return rows[0] ? mapTaskWithUpload(rows[0]) : null;
}

// ---------------------------------------------------------------------------------------------
// Deletion

export interface DeletedTask {
  task: TaskRecord;
  previousStatus: TaskStatus;
  seq: number;
  /** Every version of these objects must be erased by the caller. */
  uploadKey: string;
  /** The assembled result documents, when the task had completed. */
  resultKeys: string[];
  /** Erase every version under it: page checkpoints are written there before any result row exists. */
  resultsPrefix: string;
}

/** What erasure needs: the objects a task may have in the bucket. */
export type TaskObjects = Pick<DeletedTask, 'uploadKey' | 'resultKeys' | 'resultsPrefix'>;

interface ResultKeysRow {
  html_key: string | null;
  text_key: string | null;
  json_key: string | null;
}

/** The result documents a task's row names (none before it completed). */
const resultKeysOf = (row: ResultKeysRow): string[] =>
  [row.html_key, row.text_key, row.json_key].filter((k): k is string => k !== null);

/**
 * Deletes the owner's task: status → deleted (with history), the original file name and the
 * extracted text are nulled, the tombstone and its history stay for the audit trail. Returns the
 * objects the caller must erase, or null when the task is missing, someone else's or already
 * deleted (the tombstone keeps the keys, so a clean-up job can still find them).
 *
 * Runs in a transaction of its own; inside a caller's transaction use deleteTaskInTransaction.
 */
export async function deleteTask(db: Database, input: { ownerId: string; taskId: string }): Promise<DeletedTask | null> {
  if (!isUuid(input.taskId) || !isUuid(input.ownerId)) return null;
  return db.transaction((tx) => deleteTaskInTransaction(tx, input));
}

/**
 * deleteTask for a caller that already holds a transaction (READ COMMITTED), e.g. to write an
 * audit event with it. Outside a transaction the lock would end with its statement: don't.
 *
 * Two statements on purpose. The row lock is taken first, alone: if a worker's completeTask is
 * committing, the lock waits for it. The writes then run as a NEW statement, whose snapshot
 * (READ COMMITTED takes one per statement) sees the result row that completion inserted. In one
 * statement, the CTE nulling `results.text` would run on the snapshot taken before the wait,
 * miss that row, and leave the extracted text (and its keys) behind on a deleted task.
 */
export async function deleteTaskInTransaction(
  tx: Queryable,
  input: { ownerId: string; taskId: string },
): Promise<DeletedTask | null> {
  if (!isUuid(input.taskId) || !isUuid(input.ownerId)) return null;
  const { rows: locked } = await tx.query<{ status: TaskStatus }>(
    `SELECT status FROM tasks WHERE id = $1 AND owner_id = $2 FOR UPDATE`,
    [input.taskId, input.ownerId],
  );
  const previousStatus = locked[0]?.status;
  if (previousStatus === undefined || previousStatus === 'deleted') return null;

  const { rows } = await tx.query<TaskRow & ResultKeysRow & { seq: number; upload_key: string }>(
    `WITH t AS (
       UPDATE tasks
       SET status = 'deleted', deleted_at = now(), updated_at = clock_timestamp(), lease_until = NULL, lease_token = NULL
       WHERE id = $1
       RETURNING *
     ), f AS (
       UPDATE files SET original_name = NULL FROM t WHERE files.id = t.file_id RETURNING files.s3_key
     ), r AS (
       UPDATE results SET text = NULL FROM t WHERE results.task_id = t.id
       RETURNING results.html_key, results.text_key, results.json_key
     ), h AS (
       INSERT INTO task_history (task_id, from_status, to_status)
       SELECT t.id, $2, 'deleted' FROM t
       RETURNING id
     )
     SELECT t.*, h.id AS seq, f.s3_key AS upload_key, r.html_key, r.text_key, r.json_key
     FROM t CROSS JOIN h CROSS JOIN f LEFT JOIN r ON true`,
    [input.taskId, previousStatus],
  );
  const row = rows[0]!;
  return {
    task: mapTask(row),
    previousStatus,
    seq: row.seq,
    uploadKey: row.upload_key,
    resultKeys: resultKeysOf(row),
    resultsPrefix: row.results_prefix,
  };
}

/**
 * The objects of the owner's deleted task (the tombstone keeps its keys), or null: a repeated
 * DELETE erases them again.
 */
export async function findDeletedTaskObjects(db: Queryable, input: { ownerId: string; taskId: string }): Promise<TaskObjects | null> {
  if (!isUuid(input.taskId) || !isUuid(input.ownerId)) return null;
  const { rows } = await db.query<ResultKeysRow & { upload_key: string; results_prefix: string }>(
    `SELECT f.s3_key AS upload_key, t.results_prefix, r.html_key, r.text_key, r.json_key
     FROM tasks t JOIN files f ON f.id = t.file_id LEFT JOIN results r ON r.task_id = t.id
     WHERE t.id = $1 AND t.owner_id = $2 AND t.status = 'deleted'`,
    [input.taskId, input.ownerId],
  );
  const row = rows[0];
  return row ? { uploadKey: row.upload_key, resultsPrefix: row.results_prefix, resultKeys: resultKeysOf(row) } : null;
}

// ---------------------------------------------------------------------------------------------
// Sweeper

/** `queued` tasks unchanged for `olderThanSeconds`: their job message may be lost; re-send them. */
export async function findStaleQueued(
  db: Queryable,
  input: { olderThanSeconds: number; limit?: number },
): Promise<TaskRecord[]> {
  return findStale(db, 'queued', input);
}

/** `awaiting_upload` tasks older than the upload URL's life plus grace: fail them `upload_expired`. */
export async function findStaleAwaitingUpload(
  db: Queryable,
  input: { olderThanSeconds: number; limit?: number },
): Promise<TaskRecord[]> {
  return findStale(db, 'awaiting_upload', input);
}

async function findStale(
  db: Queryable,
  status: 'queued' | 'awaiting_upload',
  input: { olderThanSeconds: number; limit?: number },
): Promise<TaskRecord[]> {
  const { rows } = await db.query<TaskRow>(
    `SELECT * FROM tasks
     WHERE status = $1 AND updated_at < now() - make_interval(secs => $2)
     ORDER BY updated_at LIMIT $3`,
    [status, input.olderThanSeconds, input.limit ?? 500],
  );
  return rows.map(mapTask);
}
