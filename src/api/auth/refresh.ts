import { newOpaqueToken, tokenHash } from '../../auth/opaque-token';
import { ADMIN_MFA_MAX_AGE_SECONDS } from '../../auth/authenticate';
import { findPrincipalState } from '../../db/repositories/accounts';
import { revokeFamily, rotateSession } from '../../db/repositories/sessions';
import { ApiError } from '../../http/problem';
import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import { parseBody } from '../../http/validation';
import { auditRequest } from '../audit';
import type { ApiDeps } from '../deps';
import { refreshBodySchema } from './schemas';
import { tokenResponse } from './session';

const invalidRefreshToken = (): ApiError =>
  new ApiError({
    status: 401,
    code: 'invalid_refresh_token',
    detail: 'The refresh token is not valid; log in again.',
    headers: { 'www-authenticate': 'Bearer' },
  });

/**
 * `POST /v1/auth/refresh {refreshToken}` → new `{accessToken, refreshToken, …}`. The token is
 * used up (rotated) on every call. Presenting one that was already rotated means two parties
 * hold it: the whole family is revoked and both must log in again. The new token expires with
 * its family (fixed at login: refreshing never extends a session). The role comes from the
 * database, and `mfa` from the login that started the family while it is under 12 hours old.
 */
export async function refreshCore(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const body = parseBody(refreshBodySchema, req);
  const refreshToken = newOpaqueToken();
  const outcome = await rotateSession(deps.db, { tokenHash: tokenHash(body.refreshToken), newTokenHash: tokenHash(refreshToken) });
  if (outcome.status === 'reused') {
    await auditRequest(deps.db, req, { action: 'auth.refresh_reused', actorUserId: outcome.userId });
    deps.logger.warn('Rotated refresh token presented again: session family revoked', { userId: outcome.userId });
    throw invalidRefreshToken();
  }
  if (outcome.status === 'invalid') throw invalidRefreshToken();

  const { session } = outcome;
  const state = await findPrincipalState(deps.db, session.userId, session.familyId, ADMIN_MFA_MAX_AGE_SECONDS);
  if (!state || state.disabled) {
    await revokeFamily(deps.db, { userId: session.userId, familyId: session.familyId });
    throw invalidRefreshToken();
  }
  const mfa = state.mfaFresh;
  return json(200, await tokenResponse(deps, { userId: state.userId, role: state.role, sessionId: session.familyId, mfa }, refreshToken));
}
