import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, base64url: refresh tokens, invite codes. Only their hashes are stored. */
export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 hex: enough for 256-bit random secrets (no salt or stretching needed; they cannot be guessed). */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
