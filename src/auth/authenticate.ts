import type { Queryable } from '../db/database';
import { findPrincipalState } from '../db/repositories/accounts';
import { forbidden, unauthorized } from '../http/problem';
import type { ApiRequest, Role } from '../http/request';

/**
 * How long a TOTP login counts for admin routes. The session itself may live on (refreshes keep
 * it for up to its fixed lifetime), but an admin must prove the second factor again this often.
 */
export const ADMIN_MFA_MAX_AGE_SECONDS = 12 * 60 * 60;

/** The caller, as the database knows them now (not as the token said 15 minutes ago). */
export interface AuthenticatedUser {
  id: string;
  email: string;
  role: Role;
  sessionId: string;
  mfa: boolean;
}

/**
 * The authorizer's policy is cached for the whole stage, so a token of a user disabled or a
 * session revoked since still reaches the handler: every authenticated core calls this first.
 * The role comes from the database, so a demoted admin loses admin rights at once.
 */
export async function requireUser(req: Pick<ApiRequest, 'principal'>, deps: { db: Queryable }): Promise<AuthenticatedUser> {
  const principal = req.principal;
  if (!principal) throw unauthorized();
  const state = await findPrincipalState(deps.db, principal.userId, principal.sessionId, ADMIN_MFA_MAX_AGE_SECONDS);
  if (!state || state.disabled || !state.sessionActive) throw unauthorized('The session has ended; log in again.');
  // Both the token and the database must say so: the token's claim alone would outlive the cap.
  return { id: state.userId, email: state.email, role: state.role, sessionId: principal.sessionId, mfa: principal.mfa && state.mfaFresh };
}

/** Admin routes: an admin account, and a login that proved the TOTP second factor within ADMIN_MFA_MAX_AGE_SECONDS. */
export async function requireAdmin(req: Pick<ApiRequest, 'principal'>, deps: { db: Queryable }): Promise<AuthenticatedUser> {
  const user = await requireUser(req, deps);
  if (user.role !== 'admin') throw forbidden('Admins only.');
  if (!user.mfa) throw forbidden('Log in with your TOTP code to use admin routes.', 'mfa_required');
  return user;
}
