import { requireUser } from '../../auth/authenticate';
import { revokeFamily } from '../../db/repositories/sessions';
import { noContent, type ApiRequest, type ApiResponse } from '../../http/request';
import { parseBody } from '../../http/validation';
import { auditRequest } from '../audit';
import type { ApiDeps } from '../deps';
import { logoutBodySchema } from './schemas';

/**
 * `POST /v1/auth/logout` → 204. Revokes the session family of the access token: its refresh
 * tokens stop working at once, and so does the access token (handlers check the session).
 */
export async function logoutCore(req: ApiRequest, deps: Pick<ApiDeps, 'db'>): Promise<ApiResponse> {
  if (req.body !== undefined) parseBody(logoutBodySchema, req);
  const user = await requireUser(req, deps);
  await revokeFamily(deps.db, { userId: user.id, familyId: user.sessionId });
  await auditRequest(deps.db, req, { action: 'auth.logout', actorUserId: user.id });
  return noContent();
}
