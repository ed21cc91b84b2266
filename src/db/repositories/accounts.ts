import type { UserRole } from '../../domain/task';
import type { Queryable } from '../database';
import { isUuid } from './rows';

/**
 * Account state the API checks on every authenticated request and at login: whether the user
 * may act, whether a session (refresh-token family) is still alive, and the failed-login
 * counter. Columns from migration 0002_auth.
 */

export interface PrincipalState {
  userId: string;
  email: string;
  role: UserRole;
  disabled: boolean;
  /** The family has a token that is neither revoked nor expired. */
  sessionActive: boolean;
}

/** One round trip: the user and whether the token's session still lives. */
export async function findPrincipalState(db: Queryable, userId: string, sessionId: string): Promise<PrincipalState | null> {
  if (!isUuid(userId) || !isUuid(sessionId)) return null;
  const { rows } = await db.query<{ id: string; email: string; role: UserRole; disabled: boolean; session_active: boolean }>(
    `SELECT u.id, u.email, u.role, u.disabled_at IS NOT NULL AS disabled,
            EXISTS (SELECT 1 FROM sessions s
                    WHERE s.family_id = $2 AND s.user_id = u.id AND s.revoked_at IS NULL AND s.expires_at > now()) AS session_active
     FROM users u WHERE u.id = $1`,
    [userId, sessionId],
  );
  const row = rows[0];
  return row
    ? { userId: row.id, email: row.email, role: row.role, disabled: row.disabled, sessionActive: row.session_active }
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
  lockedUntil: Date | null;
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
    locked_until: Date | null;
  }>(
    `SELECT id, email, role, password_hash, totp_secret, disabled_at IS NOT NULL AS disabled, approval_pending, locked_until
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
        lockedUntil: r.locked_until,
      }
    : null;
}

/**
 * Counts a failed login. The failure that reaches `maxFailures` locks the account until
 * `lockedUntil` and starts the count again, so each lock is followed by `maxFailures` more tries.
 */
export async function recordFailedLogin(
  db: Queryable,
  input: { userId: string; maxFailures: number; lockedUntil: Date },
): Promise<{ locked: boolean }> {
  const { rows } = await db.query<{ locked: boolean }>(
    `UPDATE users SET
       locked_until  = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END,
       failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END
     WHERE id = $1
     RETURNING locked_until = $3 AS locked`,
    [input.userId, input.maxFailures, input.lockedUntil],
  );
  return { locked: rows[0]?.locked === true };
}

/** A successful login: the failure count starts over; a new hash replaces one with old parameters. */
export async function recordSuccessfulLogin(db: Queryable, input: { userId: string; newPasswordHash?: string }): Promise<void> {
  await db.query(
    `UPDATE users SET failed_logins = 0, locked_until = NULL,
       password_hash = coalesce($2, password_hash),
       updated_at = CASE WHEN $2::text IS NULL THEN updated_at ELSE now() END
     WHERE id = $1`,
    [input.userId, input.newPasswordHash ?? null],
  );
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

/** Enabling also approves a pending registration and lifts a login lock. */
export async function enableUser(db: Queryable, userId: string): Promise<boolean> {
  if (!isUuid(userId)) return false;
  const { rowCount } = await db.query(
    `UPDATE users SET disabled_at = NULL, approval_pending = false, failed_logins = 0, locked_until = NULL, updated_at = now()
     WHERE id = $1`,
    [userId],
  );
  return rowCount === 1;
}

/** Marks the session family a TOTP-proven login started; refreshes read it back with familyMfa. */
export async function markSessionMfa(db: Queryable, sessionId: string): Promise<void> {
  await db.query('UPDATE sessions SET mfa = true WHERE id = $1', [sessionId]);
}

export async function familyMfa(db: Queryable, familyId: string): Promise<boolean> {
  const { rows } = await db.query<{ mfa: boolean | null }>('SELECT bool_or(mfa) AS mfa FROM sessions WHERE family_id = $1', [familyId]);
  return rows[0]?.mfa === true;
}

/** Logout: ends the session family the access token belongs to (only the caller's own). */
export async function revokeFamily(db: Queryable, input: { userId: string; familyId: string }): Promise<number> {
  const { rowCount } = await db.query(
    'UPDATE sessions SET revoked_at = now() WHERE family_id = $1 AND user_id = $2 AND revoked_at IS NULL',
    [input.familyId, input.userId],
  );
  return rowCount;
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

export async function findAccount(db: Queryable, userId: string): Promise<AccountSummary | null> {
  if (!isUuid(userId)) return null;
  const { rows } = await db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM users WHERE id = $1`, [userId]);
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
