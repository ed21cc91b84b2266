import type { Migration } from './types';

/**
 * Failed-login throttling that does not depend on whether an account exists:
 * - login_throttles: failure counters keyed by a keyed hash (HMAC) of the normalized email, alone
 *   and together with the source address. Unknown emails get rows exactly like known ones, so the
 *   throttle's answers reveal nothing; no email is stored, and without the server's key the keys
 *   cannot be matched to addresses. Rows are pruned once their window and lock have passed.
 *   (users.failed_logins and users.locked_until from 0002 are no longer read.)
 * - audit_events.subject_user_id: the account an event was about when that is not the actor
 *   (a failed or throttled login names the targeted account; nobody is logged in).
 */
export const migration0003: Migration = {
  id: '0003_login_throttles',
  sql: `
CREATE TABLE login_throttles (
  key_hash          text PRIMARY KEY CONSTRAINT login_throttles_key_hash_hex CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  failures          integer NOT NULL CONSTRAINT login_throttles_failures_non_negative CHECK (failures >= 0),
  window_started_at timestamptz NOT NULL,
  locked_until      timestamptz,
  updated_at        timestamptz NOT NULL
);
CREATE INDEX login_throttles_updated_at_idx ON login_throttles (updated_at);

ALTER TABLE audit_events ADD COLUMN subject_user_id uuid REFERENCES users (id) ON DELETE RESTRICT;
CREATE INDEX audit_events_subject_idx ON audit_events (subject_user_id, at) WHERE subject_user_id IS NOT NULL;
`,
};
