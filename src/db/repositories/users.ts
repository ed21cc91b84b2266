import { isUuid } from '../../domain/ids';
import type { UserRecord, UserRole } from '../../domain/task';
import { isUniqueViolation, type Queryable } from '../database';
import { mapUser, type UserRow } from './rows';

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
