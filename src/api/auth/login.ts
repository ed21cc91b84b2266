import { activeLoginLock, clearLoginFailuresFor, countLoginFailure, loginThrottleKeys } from '../../auth/login-throttle';
import type { VerifyOutcome } from '../../auth/password';
import { matchTotpStep } from '../../auth/totp';
import { acceptTotpStep, findLoginAccount, updatePasswordHash, type LoginAccount } from '../../db/repositories/accounts';
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

const NO_ACCOUNT: VerifyOutcome = { ok: false, needsRehash: false };

/**
 * `POST /v1/auth/login {email, password, totp?}` → `{accessToken, refreshToken, tokenType, expiresIn}`.
 *
 * Whether an account has the email changes neither the answer nor the work: every attempt costs
 * one scrypt run (against the stored hash, or dummyVerify) before anything is answered, a 429
 * included, and failures are counted per email whether it exists or not (src/auth/login-throttle.ts:
 * per source address and email, with a higher ceiling per email). A locked attempt answers 429 +
 * Retry-After even for the right password, until the lock ends. A TOTP code (admins) sets `mfa`
 * in the token, which admin routes require; a wrong code counts as a failure. Only a right
 * password reveals that an account is disabled or awaiting approval. Failed and throttled
 * attempts are audited with the targeted account as the subject where one exists.
 */
export async function loginCore(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const body = parseBody(loginBodySchema, req);
  const now = deps.clock.now();
  const keys = await loginThrottleKeys(deps.signingKeys, body.email, req.sourceIp);
  const lockedUntil = await activeLoginLock(deps.db, keys, now);
  const account = await findLoginAccount(deps.db, body.email);
  const password = account ? await deps.passwords.verify(body.password, account.passwordHash) : await dummyVerify(deps, body.password);
  const subjectUserId = account?.id ?? null;

  if (lockedUntil) {
    await auditRequest(deps.db, req, { action: 'auth.login_throttled', actorUserId: null, subjectUserId });
    throw lockedOut(lockedUntil, now);
  }
  const totpStep = account && password.ok && body.totp !== undefined ? totpStepFor(account, body.totp, now) : undefined;
  const totpOk = body.totp === undefined || (totpStep !== null && totpStep !== undefined && (await acceptTotpStep(deps.db, account!.id, totpStep)));
  if (!account || !password.ok || !totpOk) {
    await countLoginFailure(deps.db, keys, deps.config.login, now);
    await auditRequest(deps.db, req, { action: 'auth.login_failed', actorUserId: null, subjectUserId });
    throw invalidCredentials();
  }
  if (account.approvalPending) throw forbidden('An admin has not approved this account yet.', 'approval_pending');
  if (account.disabled) throw forbidden('This account is disabled.', 'account_disabled');

  const newPasswordHash = password.needsRehash ? await deps.passwords.hash(body.password) : undefined;
  const tokens = await deps.db.transaction(async (tx) => {
    await clearLoginFailuresFor(tx, keys);
    if (newPasswordHash) await updatePasswordHash(tx, account.id, newPasswordHash);
    await auditRequest(tx, req, { action: 'auth.login', actorUserId: account.id });
    return startSession(tx, deps, account, body.totp !== undefined);
  });
  return json(200, tokens);
}

async function dummyVerify(deps: Pick<ApiDeps, 'passwords'>, password: string): Promise<VerifyOutcome> {
  await deps.passwords.dummyVerify(password);
  return NO_ACCOUNT;
}

function totpStepFor(account: LoginAccount, code: string, now: Date): number | null {
  return account.totpSecret === null ? null : matchTotpStep(account.totpSecret, code, now);
}

function lockedOut(lockedUntil: Date, now: Date): ApiError {
  return tooManyRequests((lockedUntil.getTime() - now.getTime()) / 1000, 'rate_limited', 'Too many failed logins; try again later.');
}
