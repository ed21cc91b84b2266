import type { Migration } from './types';

/**
 * Accounts and authentication:
 * - users: failed-login throttle (a counter and a lock), approval-mode registrations waiting for
 *   an admin (always also disabled, so every "may this user act" check stays one column), and
 *   the last TOTP time step accepted, so a code cannot be replayed within its window.
 * - sessions.mfa: the login that started the family proved the TOTP factor; refreshes keep it.
 * - invites: single-use registration codes, stored as SHA-256 hashes only.
 */
export const migration0002: Migration = {
  id: '0002_auth',
  sql: `
ALTER TABLE users
  ADD COLUMN failed_logins integer NOT NULL DEFAULT 0 CONSTRAINT users_failed_logins_non_negative CHECK (failed_logins >= 0),
  ADD COLUMN locked_until timestamptz,
  ADD COLUMN approval_pending boolean NOT NULL DEFAULT false,
  ADD COLUMN totp_last_step bigint CONSTRAINT users_totp_last_step_non_negative CHECK (totp_last_step >= 0),
  ADD CONSTRAINT users_pending_is_disabled CHECK (NOT approval_pending OR disabled_at IS NOT NULL);

ALTER TABLE sessions ADD COLUMN mfa boolean NOT NULL DEFAULT false;

CREATE TABLE invites (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code_hash  text NOT NULL CONSTRAINT invites_code_hash_key UNIQUE
             CONSTRAINT invites_code_hash_hex CHECK (code_hash ~ '^[0-9a-f]{64}$'),
  -- RESTRICT: who invited whom is part of the audit trail; users are disabled, never deleted.
  created_by uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  used_by    uuid CONSTRAINT invites_used_by_key UNIQUE REFERENCES users (id) ON DELETE RESTRICT,
  CONSTRAINT invites_expiry_after_creation CHECK (expires_at > created_at),
  CONSTRAINT invites_used_together CHECK ((used_at IS NULL) = (used_by IS NULL))
);
CREATE INDEX invites_created_by_idx ON invites (created_by);
`,
};
