import type { UserRecord, UserRole } from '../../domain/task';
import { isUniqueViolation, type Queryable } from '../database';
import { isUuid, mapUser, type UserRow } from './rows';

export class EmailTakenError extends Error {
  constructor() {
    // The address itself stays out of the message: messages end up in logs.
    super('a user with this email address already exists');
    this.name = 'EmailTakenError';
  }
}

export interface NewUser {
  email: string;
  passwordHash: string;
  role?: UserRole;
}

/** Creates a user. The address is stored as given (trimmed); uniqueness ignores case. */
export async function createUser(db: Queryable, input: NewUser): Promise<UserRecord> {
  try {
    const { rows } = await db.query<UserRow>(
      `INSERT INTO users (email, password_hash, role) VALUES ($1, $2, $3) RETURNING *`,
      [input.email.trim(), input.passwordHash, input.role ?? 'user'],
    );
    return mapUser(rows[0]!);
  } catch (err) {
    if (isUniqueViolation(err, 'users_email_lower_key')) throw new EmailTakenError();
    throw err;
  }
}

export async function findUserByEmail(db: Queryable, email: string): Promise<UserRecord | null> {
  // lower(email) matches the unique index users_email_lower_key.
  const { rows } = await db.query<UserRow>('SELECT * FROM users WHERE lower(email) = lower($1)', [email.trim()]);
  return rows[0] ? mapUser(rows[0]) : null;
}

export async function findUserById(db: Queryable, id: string): Promise<UserRecord | null> {
  if (!isUuid(id)) return null;
  const { rows } = await db.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
  return rows[0] ? mapUser(rows[0]) : null;
}

export const MAX_USER_LIST_LIMIT = 100;

/**
 * Oldest first; `afterId`/`limit` page through for the admin listing. Throws RangeError for a
 * limit outside 1..MAX_USER_LIST_LIMIT or an invalid date; a malformed `afterId` matches no user.
 */
export async function listUsers(
  db: Queryable,
  opts: { limit: number; afterCreatedAt?: Date; afterId?: string },
): Promise<UserRecord[]> {
  if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > MAX_USER_LIST_LIMIT) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_USER_LIST_LIMIT}`);
  }
  if (opts.afterCreatedAt !== undefined && Number.isNaN(opts.afterCreatedAt.getTime())) {
    throw new RangeError('afterCreatedAt is not a valid date');
  }
  if (opts.afterId !== undefined && !isUuid(opts.afterId)) return [];
  const after = opts.afterCreatedAt !== undefined && opts.afterId !== undefined;
  const { rows } = await db.query<UserRow>(
    `SELECT * FROM users ${after ? 'WHERE (created_at, id) > ($2, $3)' : ''} ORDER BY created_at, id LIMIT $1`,
    after ? [opts.limit, opts.afterCreatedAt, opts.afterId] : [opts.limit],
  );
  return rows.map(mapUser);
}

/** Disabling keeps the account (and everything that references it for the audit trail). */
export async function setUserDisabled(
  db: Queryable,
  input: { userId: string; disabled: boolean },
): Promise<UserRecord | null> {
  if (!isUuid(input.userId)) return null;
  const { rows } = await db.query<UserRow>(
    `UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END, updated_at = now()
     WHERE id = $1 RETURNING *`,
    [input.userId, input.disabled],
  );
  return rows[0] ? mapUser(rows[0]) : null;
}

export async function setTotpSecret(
  db: Queryable,
  input: { userId: string; totpSecret: string | null },
): Promise<UserRecord | null> {
  if (!isUuid(input.userId)) return null;
  const { rows } = await db.query<UserRow>(
    'UPDATE users SET totp_secret = $2, updated_at = now() WHERE id = $1 RETURNING *',
    [input.userId, input.totpSecret],
  );
  return rows[0] ? mapUser(rows[0]) : null;
}
