import { matchTotpStep } from '../../auth/totp';
import {
  acceptTotpStep,
  findLoginAccount,
  recordFailedLogin,
  recordSuccessfulLogin,
  type LoginAccount,
} from '../../db/repositories/accounts';
import { ApiError, forbidden, tooManyRequests } from '../../http/problem';
import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import { parseBody } from '../../http/validation';
import { auditRequest } from '../audit';
import type { ApiDeps } from '../deps';
import { loginBodySchema } from './schemas';
import { startSession } from './session';

/** One answer for an unknown email, a wrong password and a wrong TOTP code. */
const invalidCredentials = (): ApiError =>
  new ApiError({ status: 401, code: 'invalid_credentials', detail: 'The email address, password or code is not right.' });

/**
 * `POST /v1/auth/login {email, password, totp?}` → `{accessToken, refreshToken, tokenType, expiresIn}`.
 *
 * An unknown email costs one scrypt run like a wrong password and answers the same. Failures
 * count per account; the `maxFailures`th locks it for `lockSeconds` (429 + Retry-After, even for
 * the right password, until the lock ends). A TOTP code (admins) sets `mfa` in the token, which
 * admin routes require; a wrong code counts as a failure. Only a right password reveals that an
 * account is disabled or awaiting approval.
 */
export async function loginCore(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const body = parseBody(loginBodySchema, req);
  const now = deps.clock.now();
  const account = await findLoginAccount(deps.db, body.email);
  if (!account) {
    await deps.passwords.dummyVerify(body.password);
    await auditRequest(deps.db, req, { action: 'auth.login_failed', actorUserId: null });
    throw invalidCredentials();
  }
  if (account.lockedUntil && account.lockedUntil > now) {
    await auditRequest(deps.db, req, { action: 'auth.login_throttled', actorUserId: null });
    throw lockedOut(account.lockedUntil, now);
  }

  const password = await deps.passwords.verify(body.password, account.passwordHash);
  const totpStep = password.ok && body.totp !== undefined ? totpStepFor(account, body.totp, now) : undefined;
  const totpOk = body.totp === undefined || (totpStep !== null && totpStep !== undefined && (await acceptTotpStep(deps.db, account.id, totpStep)));
  if (!password.ok || !totpOk) {
    const lockedUntil = new Date(now.getTime() + deps.config.login.lockSeconds * 1000);
    await recordFailedLogin(deps.db, { userId: account.id, maxFailures: deps.config.login.maxFailures, lockedUntil });
    await auditRequest(deps.db, req, { action: 'auth.login_failed', actorUserId: null });
    throw invalidCredentials();
  }
  if (account.approvalPending) throw forbidden('An admin has not approved this account yet.', 'approval_pending');
  if (account.disabled) throw forbidden('This account is disabled.', 'account_disabled');

  const newPasswordHash = password.needsRehash ? await deps.passwords.hash(body.password) : undefined;
  const tokens = await deps.db.transaction(async (tx) => {
    await recordSuccessfulLogin(tx, { userId: account.id, ...(newPasswordHash ? { newPasswordHash } : {}) });
    await auditRequest(tx, req, { action: 'auth.login', actorUserId: account.id });
    return startSession(tx, deps, account, body.totp !== undefined);
  });
  return json(200, tokens);
}

function totpStepFor(account: LoginAccount, code: string, now: Date): number | null {
  return account.totpSecret === null ? null : matchTotpStep(account.totpSecret, code, now);
}

function lockedOut(lockedUntil: Date, now: Date): ApiError {
  return tooManyRequests((lockedUntil.getTime() - now.getTime()) / 1000, 'rate_limited', 'Too many failed logins; try again later.');
}
