import type { UserRole } from '../../domain/task';
import type { Queryable } from '../database';
import { isUuid } from '../../domain/ids';

/**
 * Account state the API checks on every authenticated request and at login: whether the user
 * may act, whether a session (refresh-token family) is still alive, and the failed-login
 * counters. Columns from migrations 0002_auth and 0003_login_throttles.
 */

export interface PrincipalState {
  userId: string;
  email: string;
  role: UserRole;
  disabled: boolean;
  /** The family has a token that is neither revoked nor expired. */
  sessionActive: boolean;
  /** The family began with a TOTP-proven login less than `mfaMaxAgeSeconds` ago. */
  mfaFresh: boolean;
}

/**
 * One round trip: the user, whether the token's session still lives, and whether its TOTP
 * login is recent enough. The family's first token (the one createSession marks) was created at
 * login, so its created_at is the time of the second factor; the database's clock decides, as it
 * does for expiry.
 */
export async function findPrincipalState(
  db: Queryable,
  userId: string,
  sessionId: string,
  mfaMaxAgeSeconds: number,
): Promise<PrincipalState | null> {
  if (!isUuid(userId) || !isUuid(sessionId)) return null;
  const { rows } = await db.query<{ id: string; email: string; role: UserRole; disabled: boolean; session_active: boolean; mfa_fresh: boolean }>(
    `SELECT u.id, u.email, u.role, u.disabled_at IS NOT NULL AS disabled,
            EXISTS (SELECT 1 FROM sessions s
                    WHERE s.family_id = $2 AND s.user_id = u.id AND s.revoked_at IS NULL AND s.expires_at > now()) AS session_active,
            EXISTS (SELECT 1 FROM sessions s
                    WHERE s.family_id = $2 AND s.user_id = u.id AND s.mfa
                      AND s.created_at > now() - make_interval(secs => $3::double precision)) AS mfa_fresh
     FROM users u WHERE u.id = $1`,
    [userId, sessionId, mfaMaxAgeSeconds],
  );
  const row = rows[0];
  return row
    ? { userId: row.id, email: row.email, role: row.role, disabled: row.disabled, sessionActive: row.session_active, mfaFresh: row.mfa_fresh }
    : null;
}

/** What login needs about an account, found by email (case-insensitive). */
export interface LoginAccount {
  id: string;
  email: string;
  role: UserRole;
  passwordHash: string;
  totpSecret: string | null;
  disabled: boolean;
  approvalPending: boolean;
}

export async function findLoginAccount(db: Queryable, email: string): Promise<LoginAccount | null> {
  const { rows } = await db.query<{
    id: string;
    email: string;
    role: UserRole;
    password_hash: string;
    totp_secret: string | null;
    disabled: boolean;
    approval_pending: boolean;
  }>(
    `SELECT id, email, role, password_hash, totp_secret, disabled_at IS NOT NULL AS disabled, approval_pending
     FROM users WHERE lower(email) = lower($1)`,
    [email.trim()],
  );
  const r = rows[0];
  return r
    ? {
        id: r.id,
        email: r.email,
        role: r.role,
        passwordHash: r.password_hash,
        totpSecret: r.totp_secret,
        disabled: r.disabled,
        approvalPending: r.approval_pending,
      }
    : null;
}

/** A login whose password hash has old parameters stores the new hash. */
export async function updatePasswordHash(db: Queryable, userId: string, passwordHash: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1', [userId, passwordHash]);
}

/**
 * Accepts a TOTP time step once: only a step later than the last accepted one passes, so a code
 * seen by someone else cannot be replayed inside its validity window.
 */
export async function acceptTotpStep(db: Queryable, userId: string, step: number): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)',
    [userId, step],
  );
  return rowCount === 1;
}

/** Registration in approval mode: the account exists but may not log in until an admin enables it. */
export async function markApprovalPending(db: Queryable, userId: string): Promise<void> {
  await db.query('UPDATE users SET disabled_at = now(), approval_pending = true, updated_at = now() WHERE id = $1', [userId]);
}

export type AccountStatus = 'active' | 'disabled' | 'pending';

export interface AccountSummary {
  id: string;
  email: string;
  role: UserRole;
  status: AccountStatus;
  createdAt: Date;
}

interface AccountRow {
  id: string;
  email: string;
  role: UserRole;
  disabled: boolean;
  approval_pending: boolean;
  created_at: Date;
}

const ACCOUNT_COLUMNS = 'id, email, role, disabled_at IS NOT NULL AS disabled, approval_pending, created_at';

const mapAccount = (r: AccountRow): AccountSummary => ({
  id: r.id,
  email: r.email,
  role: r.role,
  status: r.approval_pending ? 'pending' : r.disabled ? 'disabled' : 'active',
  createdAt: r.created_at,
});

/**
 * Disabling keeps the account (and everything that references it for the audit trail). Returns
 * the account as it is now, or null when there is no such user.
 */
export async function disableUser(db: Queryable, userId: string): Promise<AccountSummary | null> {
  if (!isUuid(userId)) return null;
  const { rows } = await db.query<AccountRow>(
    `UPDATE users SET disabled_at = coalesce(disabled_at, now()), updated_at = now()
     WHERE id = $1 RETURNING ${ACCOUNT_COLUMNS}`,
    [userId],
  );
  return rows[0] ? mapAccount(rows[0]) : null;
}

/**
 * Enabling also approves a pending registration. (Login locks are keyed by email, not user, and
 * run out on their own.) Returns the account as it is now, or null when there is no such user.
 */
export async function enableUser(db: Queryable, userId: string): Promise<AccountSummary | null> {
  if (!isUuid(userId)) return null;
  const { rows } = await db.query<AccountRow>(
    `UPDATE users SET disabled_at = NULL, approval_pending = false, updated_at = now()
     WHERE id = $1 RETURNING ${ACCOUNT_COLUMNS}`,
    [userId],
  );
  return rows[0] ? mapAccount(rows[0]) : null;
}

/**
 * Oldest first, keyset on (created_at, id) after the row `afterId` (compared in the database at
 * full timestamp precision, so no row is skipped or repeated).
 */
export async function listAccounts(db: Queryable, opts: { limit: number; afterId?: string }): Promise<AccountSummary[]> {
  if (opts.afterId !== undefined && !isUuid(opts.afterId)) return [];
  const { rows } = await db.query<AccountRow>(
    opts.afterId === undefined
      ? `SELECT ${ACCOUNT_COLUMNS} FROM users ORDER BY created_at, id LIMIT $1`
      : `SELECT ${ACCOUNT_COLUMNS} FROM users
         WHERE (created_at, id) > (SELECT created_at, id FROM users WHERE id = $2)
         ORDER BY created_at, id LIMIT $1`,
    opts.afterId === undefined ? [opts.limit] : [opts.limit, opts.afterId],
  );
  return rows.map(mapAccount);
}

/**
 * Failed-login throttling (table login_throttles, migration 0003): counters keyed by an opaque
 * key hash (src/auth/login-throttle.ts decides what is hashed). Times come from the caller's clock.
 */

/** The latest lock among `keyHashes` still in force at `now`, or null. */
export async function findLoginLock(db: Queryable, keyHashes: readonly string[], now: Date): Promise<Date | null> {
  const { rows } = await db.query<{ locked_until: Date | null }>(
    `SELECT max(locked_until) AS locked_until FROM login_throttles
     WHERE key_hash IN (${keyHashes.map((_, i) => `$${i + 2}`).join(', ')}) AND locked_until > $1`,
    [now, ...keyHashes],
  );
  return rows[0]?.locked_until ?? null;
}

/**
 * Counts one failure for `keyHash` in the window that began at most `windowSeconds` ago (an older
 * window starts over). The failure that reaches `maxFailures` locks the key until `now +
 * lockSeconds` and starts the count again, so each lock is followed by `maxFailures` more tries.
 */
export async function recordLoginFailure(
  db: Queryable,
  input: { keyHash: string; maxFailures: number; windowSeconds: number; lockSeconds: number; now: Date },
): Promise<{ locked: boolean }> {
  const windowStart = new Date(input.now.getTime() - input.windowSeconds * 1000);
  const lockedUntil = new Date(input.now.getTime() + input.lockSeconds * 1000);
  // One statement, so concurrent failures each count: the row is locked by the upsert.
  const { rows } = await db.query<{ locked: boolean }>(
    `INSERT INTO login_throttles AS t (key_hash, failures, window_started_at, locked_until, updated_at)
     VALUES ($1, CASE WHEN 1 >= $3 THEN 0 ELSE 1 END, $2, CASE WHEN 1 >= $3 THEN $5::timestamptz END, $2)
     ON CONFLICT (key_hash) DO UPDATE SET
       failures = CASE
         WHEN (CASE WHEN t.window_started_at > $4 THEN t.failures ELSE 0 END) + 1 >= $3 THEN 0
         ELSE (CASE WHEN t.window_started_at > $4 THEN t.failures ELSE 0 END) + 1 END,
       locked_until = CASE
         WHEN (CASE WHEN t.window_started_at > $4 THEN t.failures ELSE 0 END) + 1 >= $3 THEN $5::timestamptz
         ELSE t.locked_until END,
       window_started_at = CASE
         WHEN t.window_started_at > $4 AND t.failures + 1 < $3 THEN t.window_started_at ELSE $2 END,
       updated_at = $2
     RETURNING locked_until = $5::timestamptz AS locked`,
    [input.keyHash, input.now, input.maxFailures, windowStart, lockedUntil],
  );
  return { locked: rows[0]?.locked === true };
}

/** A successful login: the counter of that key starts over (and its lock, if any, is lifted). */
export async function clearLoginFailures(db: Queryable, keyHash: string): Promise<void> {
  await db.query('DELETE FROM login_throttles WHERE key_hash = $1', [keyHash]);
}

/**
 * Forgets up to `limit` counters untouched since `before` whose lock has passed. Called with each
 * failure, so the table stays about as large as the failures of one window, however many
 * addresses are tried.
 */
export async function pruneLoginThrottles(db: Queryable, input: { before: Date; now: Date; limit: number }): Promise<void> {
  await db.query(
    `DELETE FROM login_throttles WHERE key_hash IN (
       SELECT key_hash FROM login_throttles
       WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until <= $2)
       LIMIT $3)`,
    [input.before, input.now, input.limit],
  );
}
