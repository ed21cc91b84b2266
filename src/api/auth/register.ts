import { tokenHash } from '../../auth/opaque-token';
import { markApprovalPending } from '../../db/repositories/accounts';
import { lockUsableInvite, markInviteUsed } from '../../db/repositories/invites';
import { EmailTakenError, createUser } from '../../db/repositories/users';
import { ApiError, conflict, validationFailed } from '../../http/problem';
import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import { parseBody } from '../../http/validation';
import { auditRequest } from '../audit';
import type { ApiDeps } from '../deps';
import { registerBodySchema } from './schemas';

const invalidInvite = (): ApiError =>
  new ApiError({ status: 403, code: 'invalid_invite', detail: 'The invite code is unknown, used or expired.' });

/**
 * `POST /v1/auth/register {email, password, inviteCode?}` → 201 `{user}`.
 * - open: the account can log in at once;
 * - invite: an admin's single-use code is required and used up in the same transaction;
 * - approval: the account is created disabled and pending (`approvalPending: true`) until an
 *   admin enables it.
 * The password is hashed before the transaction, so no row lock waits on scrypt.
 */
export async function registerCore(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const body = parseBody(registerBodySchema, req);
  const mode = deps.config.registrationMode;
  if (mode === 'invite' && body.inviteCode === undefined) {
    throw validationFailed([{ field: 'inviteCode', message: 'is required: registration is by invitation' }]);
  }
  const passwordHash = await deps.passwords.hash(body.password);
  try {
    const user = await deps.db.transaction(async (tx) => {
      const inviteId = mode === 'invite' ? await lockUsableInvite(tx, tokenHash(body.inviteCode!)) : null;
      if (mode === 'invite' && inviteId === null) throw invalidInvite();
      const created = await createUser(tx, { email: body.email, passwordHash });
      if (inviteId !== null && !(await markInviteUsed(tx, { inviteId, userId: created.id }))) throw invalidInvite();
      if (mode === 'approval') await markApprovalPending(tx, created.id);
      await auditRequest(tx, req, { action: 'user.register', actorUserId: created.id });
      return created;
    });
    return json(201, {
      user: { id: user.id, email: user.email, role: user.role },
      ...(mode === 'approval' ? { approvalPending: true } : {}),
    });
  } catch (error) {
    if (error instanceof EmailTakenError) throw conflict('email_taken', 'An account with this email address exists.');
    throw error;
  }
}
