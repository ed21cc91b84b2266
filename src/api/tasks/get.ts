import { getTask } from '../../db/repositories/tasks';
import { notFound } from '../../http/problem';
import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import type { ApiDeps } from '../deps';
import { auditedTaskRequest } from './access';
import { taskView } from './view';

/** `GET /v1/tasks/{id}` → `{task}`, with a result summary once completed. Not the caller's: 404. */
export async function getTaskCore(req: ApiRequest, deps: Pick<ApiDeps, 'db'>): Promise<ApiResponse> {
  const { user, taskId } = await auditedTaskRequest(req, deps, 'task.read');
  const task = await getTask(deps.db, { ownerId: user.id, taskId });
  if (!task) throw notFound();
  return json(200, { task: taskView(task) });
}
