import { requireUser } from '../../auth/authenticate';
import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import type { ApiDeps } from '../deps';

/** `GET /v1/me` → `{user: {id, email, role}}`, as the database knows the caller now. */
export async function meCore(req: ApiRequest, deps: Pick<ApiDeps, 'db'>): Promise<ApiResponse> {
  const user = await requireUser(req, deps);
  return json(200, { user: { id: user.id, email: user.email, role: user.role } });
}
