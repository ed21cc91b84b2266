import { errorSummary } from '../../adapters/error-summary';
import type { Queryable } from '../../db/database';
import { isUuid } from '../../db/repositories/rows';
import { deleteTaskInTransaction, type DeletedTask } from '../../db/repositories/tasks';
import { ApiError, notFound } from '../../http/problem';
import { noContent, type ApiRequest, type ApiResponse } from '../../http/request';
import { requireUser } from '../../auth/authenticate';
import { statusEvent } from '../../pipeline/events';
import type { ApiDeps } from '../deps';
import { auditRequest } from '../audit';

/** What erasure needs: the objects a task may have in the bucket. */
export type TaskObjects = Pick<DeletedTask, 'uploadKey' | 'resultKeys' | 'resultsPrefix'>;

export const ERASURE_RETRY_AFTER_SECONDS = 30;

/**
 * `DELETE /v1/tasks/{id}` → 204 (DESIGN "Deletion").
 *
 * One transaction records the attempt (`task.delete`) and marks the task deleted (file name and
 * text nulled, tombstone and history kept). After the commit every version of the upload and of
 * everything under the results prefix is erased, then the status event is published.
 *
 * If erasure fails after the commit, the answer is 503 `erasure_pending` with Retry-After, the
 * failure is logged and audited (`task.erase_failed`), and the tombstone still names the keys.
 * A repeated DELETE by the owner of a deleted task erases those keys again (idempotent: nothing
 * left means nothing to do) and answers 404, as every route does for a deleted task; only a
 * failing erasure answers 503 again. So: 204 once, 404 ever after, 503 means "repeat the DELETE".
 * Another user's, a random or a malformed id: 404, with no storage call at all.
 */
export async function deleteTaskCore(
  req: ApiRequest,
  deps: Pick<ApiDeps, 'db' | 'objectStore' | 'eventBus' | 'clock' | 'logger'>,
): Promise<ApiResponse> {
  const user = await requireUser(req, deps);
  const raw = req.pathParameters.id;
  const taskId = raw !== undefined && isUuid(raw) ? raw.toLowerCase() : null;
  const outcome = await deps.db.transaction(async (tx) => {
    await auditRequest(tx, req, { action: 'task.delete', actorUserId: user.id, taskId });
    if (taskId === null) return null;
    const deleted = await deleteTaskInTransaction(tx, { ownerId: user.id, taskId });
    if (deleted) return { deleted, objects: deleted as TaskObjects };
    const tombstone = await deletedTaskObjects(tx, { ownerId: user.id, taskId });
    return tombstone ? { deleted: null, objects: tombstone } : null;
  });
  if (!outcome) throw notFound();

  await eraseOrReport(req, deps, user.id, taskId!, outcome.objects);
  if (!outcome.deleted) throw notFound();

  const { task, seq, previousStatus } = outcome.deleted;
  try {
    await deps.eventBus.publish(statusEvent(task, seq, previousStatus, deps.clock.now()));
  } catch (error) {
    // The deletion stands and clients polling see it; a lost notification is not worth a failed request.
    deps.logger.error('Task deleted event not published', { taskId: task.id, error: errorSummary(error) });
  }
  return noContent();
}

/** Every version of every object a task may have: the upload, the results folder, result keys outside it. */
export async function eraseTaskObjects(store: ApiDeps['objectStore'], objects: TaskObjects): Promise<number> {
  let deleted = (await store.deleteAllVersions({ key: objects.uploadKey })).deleted;
  deleted += (await store.deleteAllVersions({ prefix: objects.resultsPrefix })).deleted;
  for (const key of objects.resultKeys) {
    if (!key.startsWith(objects.resultsPrefix)) deleted += (await store.deleteAllVersions({ key })).deleted;
  }
  return deleted;
}

async function eraseOrReport(
  req: ApiRequest,
  deps: Pick<ApiDeps, 'db' | 'objectStore' | 'logger'>,
  userId: string,
  taskId: string,
  objects: TaskObjects,
): Promise<void> {
  try {
    await eraseTaskObjects(deps.objectStore, objects);
  } catch (error) {
    deps.logger.error('Task objects not erased; a repeated DELETE retries', { taskId, error: errorSummary(error) });
    await auditRequest(deps.db, req, { action: 'task.erase_failed', actorUserId: userId, taskId }).catch((auditError: unknown) =>
      deps.logger.error('Erasure failure not audited', { taskId, error: errorSummary(auditError) }),
    );
    throw new ApiError({
      status: 503,
      code: 'erasure_pending',
      detail: 'The task is deleted, but its stored objects could not all be erased yet. Repeat the DELETE to finish.',
      headers: { 'retry-after': String(ERASURE_RETRY_AFTER_SECONDS) },
    });
  }
}

/** The objects of the owner's deleted task (the tombstone keeps its keys), or null. */
async function deletedTaskObjects(db: Queryable, input: { ownerId: string; taskId: string }): Promise<TaskObjects | null> {
  const { rows } = await db.query<{
    upload_key: string;
    results_prefix: string;
    html_key: string | null;
    text_key: string | null;
    json_key: string | null;
  }>(
    `SELECT f.s3_key AS upload_key, t.results_prefix, r.html_key, r.text_key, r.json_key
     FROM tasks t JOIN files f ON f.id = t.file_id LEFT JOIN results r ON r.task_id = t.id
     WHERE t.id = $1 AND t.owner_id = $2 AND t.status = 'deleted'`,
    [input.taskId, input.ownerId],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    uploadKey: row.upload_key,
    resultsPrefix: row.results_prefix,
    resultKeys: [row.html_key, row.text_key, row.json_key].filter((k): k is string => k !== null),
  };
}
