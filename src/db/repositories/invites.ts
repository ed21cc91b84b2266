import type { Queryable } from '../database';

/** Single-use registration codes. Only the SHA-256 (hex) of a code is stored. */

export async function createInvite(
  db: Queryable,
  input: { codeHash: string; createdBy: string; expiresAt: Date },
): Promise<{ id: string; expiresAt: Date }> {
  const { rows } = await db.query<{ id: string; expires_at: Date }>(
    'INSERT INTO invites (code_hash, created_by, expires_at) VALUES ($1, $2, $3) RETURNING id, expires_at',
    [input.codeHash, input.createdBy, input.expiresAt],
  );
  return { id: rows[0]!.id, expiresAt: rows[0]!.expires_at };
}

/**
 * Locks an unused, unexpired invite for the rest of the transaction (so two registrations with
 * one code cannot both pass); null when there is none. Call inside `db.transaction`, then
 * `markInviteUsed` once the user exists.
 */
export async function lockUsableInvite(tx: Queryable, codeHash: string): Promise<string | null> {
  const { rows } = await tx.query<{ id: string }>(
    'SELECT id FROM invites WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now() FOR UPDATE',
    [codeHash],
  );
  return rows[0]?.id ?? null;
}

export async function markInviteUsed(tx: Queryable, input: { inviteId: string; userId: string }): Promise<boolean> {
  const { rowCount } = await tx.query(
    'UPDATE invites SET used_at = now(), used_by = $2 WHERE id = $1 AND used_at IS NULL',
    [input.inviteId, input.userId],
  );
  return rowCount === 1;
}
