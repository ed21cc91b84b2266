import { requireUser, type AuthenticatedUser } from '../../auth/authenticate';
import { isUuid } from '../../domain/ids';
import { getTask, type TaskDetail } from '../../db/repositories/tasks';
import { conflict, notFound } from '../../http/problem';
import { parsePathId } from '../../http/validation';
import type { ApiRequest } from '../../http/request';
import { auditRequest } from '../audit';
import type { ApiDeps } from '../deps';

export type TaskAction = 'task.read' | 'task.result.read' | 'task.delete';

/**
 * The caller and the task id of a `/v1/tasks/{id}…` request, with the attempt audited first:
 * probes of other users' ids, random ids and malformed ones are recorded too (the latter with no
 * task id). A malformed id then answers 404 exactly like a missing task.
 */
export async function auditedTaskRequest(
  req: ApiRequest,
  deps: Pick<ApiDeps, 'db'>,
  action: TaskAction,
): Promise<{ user: AuthenticatedUser; taskId: string }> {
  const user = await requireUser(req, deps);
  await auditRequest(deps.db, req, { action, actorUserId: user.id, taskId: auditedTaskId(req) });
  return { user, taskId: parsePathId(req) };
}

/** The task id the audit records for a `/v1/tasks/{id}…` request: null for a malformed one. */
export function auditedTaskId(req: ApiRequest): string | null {
  const raw = req.pathParameters.id;
  return raw !== undefined && isUuid(raw) ? raw.toLowerCase() : null;
}

/**
 * The owner's completed task with its result: another user's, a missing or a deleted task → 404;
 * the owner's task that has not completed → 409 `not_ready`, saying that `what` (e.g. "a result
 * exists") only once it has.
 */
export async function completedTaskOf(
  deps: Pick<ApiDeps, 'db'>,
  request: { user: AuthenticatedUser; taskId: string },
  what: string,
): Promise<TaskDetail & { result: NonNullable<TaskDetail['result']> }> {
  const task = await getTask(deps.db, { ownerId: request.user.id, taskId: request.taskId });
  if (!task) throw notFound();
  if (task.status !== 'completed' || !task.result) {
    throw conflict('not_ready', `The task is ${task.status.replace('_', ' ')}; ${what} only once it has completed.`);
  }
  return { ...task, result: task.result };
}
