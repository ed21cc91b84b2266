import type { SessionRecord } from '../../domain/task';
import type { Queryable } from '../database';
import { mapSession, type SessionRow } from './rows';

/**
 * Refresh-token sessions. Only SHA-256 hashes (hex) of tokens are stored. Rotation issues a new
 * token in the same family; presenting an already-rotated token is treated as theft and revokes
 * the whole family (RFC 6819 §5.2.2.3 refresh-token rotation).
 */

export async function createSession(
  db: Queryable,
  input: { userId: string; tokenHash: string; expiresAt: Date; mfa?: boolean },
): Promise<SessionRecord> {
  // `mfa` marks a family a TOTP-proven login started; findPrincipalState reads it back, with its age.
  const { rows } = await db.query<SessionRow>(
    `INSERT INTO sessions (user_id, family_id, token_hash, expires_at, mfa)
     VALUES ($1, gen_random_uuid(), $2, $3, $4) RETURNING *`,
    [input.userId, input.tokenHash, input.expiresAt, input.mfa ?? false],
  );
  return mapSession(rows[0]!);
}

export type RotateOutcome =
  | { status: 'rotated'; session: SessionRecord }
  | { status: 'reused'; userId: string; familyId: string }
  | { status: 'invalid' };

/**
 * Uses up a refresh token and issues its successor in the same family. The successor inherits
 * the family's expiry: a family's lifetime is fixed at login and no number of refreshes extends
 * it, so a stolen token that is kept in use still dies with its family.
 */
export async function rotateSession(db: Queryable, input: { tokenHash: string; newTokenHash: string }): Promise<RotateOutcome> {
  // One statement: the old token is used up and its successor created atomically, so two
  // concurrent refreshes with the same token cannot both succeed.
  const { rows } = await db.query<SessionRow>(
    `WITH old AS (
       UPDATE sessions SET rotated_at = now()
       WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > now()
       RETURNING id, user_id, family_id, expires_at
     )
     INSERT INTO sessions (user_id, family_id, token_hash, parent_id, expires_at)
     SELECT user_id, family_id, $2, id, expires_at FROM old
     RETURNING *`,
    [input.tokenHash, input.newTokenHash],
  );
  if (rows[0]) return { status: 'rotated', session: mapSession(rows[0]) };

  const { rows: reused } = await db.query<{ user_id: string; family_id: string }>(
    `UPDATE sessions SET revoked_at = now()
     WHERE family_id = (SELECT family_id FROM sessions WHERE token_hash = $1 AND rotated_at IS NOT NULL)
       AND revoked_at IS NULL
     RETURNING user_id, family_id`,
    [input.tokenHash],
  );
  if (reused[0]) return { status: 'reused', userId: reused[0].user_id, familyId: reused[0].family_id };
  return { status: 'invalid' };
}

/** Logout: ends the session family the access token belongs to (only the caller's own). */
export async function revokeFamily(db: Queryable, input: { userId: string; familyId: string }): Promise<number> {
  const { rowCount } = await db.query(
    'UPDATE sessions SET revoked_at = now() WHERE family_id = $1 AND user_id = $2 AND revoked_at IS NULL',
    [input.familyId, input.userId],
  );
  return rowCount;
}

/** Disabling a user or a password change: every session of the user ends. */
export async function revokeUserSessions(db: Queryable, userId: string): Promise<number> {
  const { rowCount } = await db.query(
    'UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL',
    [userId],
  );
  return rowCount;
}
