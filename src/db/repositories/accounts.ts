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
