import { errorSummary } from '../../adapters/error-summary';
import { deleteTaskInTransaction, findDeletedTaskObjects, type TaskObjects } from '../../db/repositories/tasks';
import { ApiError, notFound } from '../../http/problem';
import { noContent, type ApiRequest, type ApiResponse } from '../../http/request';
import { requireUser } from '../../auth/authenticate';
import { statusEvent } from '../../pipeline/events';
import type { ApiDeps } from '../deps';
import { auditRequest } from '../audit';
import { auditedTaskId } from './access';

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
  const taskId = auditedTaskId(req);
  const outcome = await deps.db.transaction(async (tx) => {
    await auditRequest(tx, req, { action: 'task.delete', actorUserId: user.id, taskId });
    if (taskId === null) return null;
    const deleted = await deleteTaskInTransaction(tx, { ownerId: user.id, taskId });
    if (deleted) return { deleted, objects: deleted };
    const tombstone = await findDeletedTaskObjects(tx, { ownerId: user.id, taskId });
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
