import * as z from 'zod';
import { requireAdmin } from '../../auth/authenticate';
import { newOpaqueToken, tokenHash } from '../../auth/opaque-token';
import { createInvite } from '../../db/repositories/invites';
import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import { parseBody } from '../../http/validation';
import { auditRequest } from '../audit';
import type { ApiDeps } from '../deps';

export const createInviteBodySchema = z.strictObject({
  /** Defaults to the configured lifetime (7 days). */
  expiresInHours: z.number().int('must be a whole number').min(1, 'must be at least 1').max(24 * 30, 'must be at most 720').optional(),
});

/**
 * `POST /v1/admin/invites` → 201 `{code, expiresAt}`. The code is shown this once; only its hash
 * is stored. It registers one account before it expires.
 */
export async function createInviteCore(req: ApiRequest, deps: Pick<ApiDeps, 'db' | 'clock' | 'config'>): Promise<ApiResponse> {
  const admin = await requireAdmin(req, deps);
  const body = req.body === undefined ? {} : parseBody(createInviteBodySchema, req);
  const ttlSeconds = body.expiresInHours !== undefined ? body.expiresInHours * 3600 : deps.config.invites.ttlSeconds;
  const code = newOpaqueToken();
  const invite = await deps.db.transaction(async (tx) => {
    const created = await createInvite(tx, {
      codeHash: tokenHash(code),
      createdBy: admin.id,
      expiresAt: new Date(deps.clock.now().getTime() + ttlSeconds * 1000),
    });
    await auditRequest(tx, req, { action: 'invite.create', actorUserId: admin.id });
    return created;
  });
  return json(201, { code, expiresAt: invite.expiresAt.toISOString() });
}
