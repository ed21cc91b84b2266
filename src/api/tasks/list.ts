import { requireUser } from '../../auth/authenticate';
import { InvalidCursorError } from '../../db/repositories/cursor';
import { listTasks } from '../../db/repositories/tasks';
import { validationFailed } from '../../http/problem';
import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import { parseQuery } from '../../http/validation';
import { auditRequest } from '../audit';
import type { ApiDeps } from '../deps';
import { DEFAULT_LIST_LIMIT, listTasksQuerySchema } from './schemas';
import { taskView } from './view';

/** `GET /v1/tasks?status=&limit=&cursor=` → `{items, nextCursor}`: the caller's tasks, newest first. */
export async function listTasksCore(req: ApiRequest, deps: Pick<ApiDeps, 'db'>): Promise<ApiResponse> {
  const user = await requireUser(req, deps);
  const query = parseQuery(listTasksQuerySchema, req);
  await auditRequest(deps.db, req, { action: 'task.list', actorUserId: user.id });
  try {
    const page = await listTasks(deps.db, {
      ownerId: user.id,
      limit: query.limit ?? DEFAULT_LIST_LIMIT,
      ...(query.status ? { status: query.status } : {}),
      cursor: query.cursor ?? null,
    });
    return json(200, { items: page.items.map(taskView), nextCursor: page.nextCursor });
  } catch (error) {
    if (error instanceof InvalidCursorError) throw validationFailed([{ field: 'cursor', message: 'is not a cursor this listing returned' }]);
    throw error;
  }
}
