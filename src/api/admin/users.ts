import * as z from 'zod';
import { requireAdmin } from '../../auth/authenticate';
import { disableUser, enableUser, listAccounts, type AccountSummary } from '../../db/repositories/accounts';
import { revokeUserSessions } from '../../db/repositories/sessions';
import { isUuid } from '../../domain/ids';
import { conflict, notFound, validationFailed } from '../../http/problem';
import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import { parsePathId, parseQuery } from '../../http/validation';
import { auditRequest } from '../audit';
import type { ApiDeps } from '../deps';

export const MAX_ADMIN_PAGE = 100;

export const listUsersQuerySchema = z.strictObject({
  limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(MAX_ADMIN_PAGE, `must be at most ${MAX_ADMIN_PAGE}`).optional(),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'is not a cursor from this listing').optional(),
});

const view = (a: AccountSummary) => ({ id: a.id, email: a.email, role: a.role, status: a.status, createdAt: a.createdAt.toISOString() });

/** `GET /v1/admin/users?limit=&cursor=` → `{items, nextCursor}`, oldest first. */
export async function listUsersCore(req: ApiRequest, deps: Pick<ApiDeps, 'db'>): Promise<ApiResponse> {
  const admin = await requireAdmin(req, deps);
  const query = parseQuery(listUsersQuerySchema, req);
  const limit = query.limit ?? 50;
  const afterId = query.cursor === undefined ? undefined : Buffer.from(query.cursor, 'base64url').toString('utf8');
  if (afterId !== undefined && !isUuid(afterId)) throw validationFailed([{ field: 'cursor', message: 'is not a cursor from this listing' }]);
  const rows = await listAccounts(deps.db, { limit: limit + 1, ...(afterId !== undefined ? { afterId } : {}) });
  const items = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? Buffer.from(items[items.length - 1]!.id, 'utf8').toString('base64url') : null;
  await auditRequest(deps.db, req, { action: 'admin.users_listed', actorUserId: admin.id });
  return json(200, { items: items.map(view), nextCursor });
}

/**
 * `POST /v1/admin/users/{id}/disable` → `{user}`. Every session of the user ends at once; their
 * still-valid access tokens are refused by every handler's re-check, and their open WebSocket
 * connections are forgotten, so no further status is pushed to them. An admin cannot disable
 * themselves (which could leave no admin at all).
 */
export async function disableUserCore(req: ApiRequest, deps: Pick<ApiDeps, 'db' | 'connections'>): Promise<ApiResponse> {
  const admin = await requireAdmin(req, deps);
  const userId = parsePathId(req);
  if (userId === admin.id) throw conflict('cannot_disable_self', 'Admins cannot disable their own account.');
  const account = await deps.db.transaction(async (tx) => {
    const disabled = await disableUser(tx, userId);
    if (!disabled) return null;
    await revokeUserSessions(tx, userId);
    await auditRequest(tx, req, { action: 'user.disable', actorUserId: admin.id, subjectUserId: userId });
    return disabled;
  });
  if (!account) throw notFound();
  // After the commit, so a connection made meanwhile cannot outlive it: its ticket came from a
  // session that is now revoked. A failure here fails the request; disabling again is safe.
  await forgetConnections(deps, userId);
  return json(200, { user: view(account) });
}

/**
 * Deletes the user's rows from the connections table. The sockets stay open until API Gateway's
 * idle or two-hour limit, but the notifier finds no connection of theirs to push to.
 */
async function forgetConnections(deps: Pick<ApiDeps, 'connections'>, userId: string): Promise<void> {
  const ids = await deps.connections.listByUser(userId);
  await Promise.all(ids.map((id) => deps.connections.delete(id)));
}

/** `POST /v1/admin/users/{id}/enable` → `{user}`: approves a pending registration or re-enables. */
export async function enableUserCore(req: ApiRequest, deps: Pick<ApiDeps, 'db'>): Promise<ApiResponse> {
  const admin = await requireAdmin(req, deps);
  const userId = parsePathId(req);
  const account = await deps.db.transaction(async (tx) => {
    const enabled = await enableUser(tx, userId);
    if (!enabled) return null;
    await auditRequest(tx, req, { action: 'user.enable', actorUserId: admin.id });
    return enabled;
  });
  if (!account) throw notFound();
  return json(200, { user: view(account) });
}
