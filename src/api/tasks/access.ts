import { requireUser, type AuthenticatedUser } from '../../auth/authenticate';
import { isUuid } from '../../domain/ids';
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
