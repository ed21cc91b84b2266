import type { Migration } from './types';

/**
 * The initial schema. Rules are written as constraints wherever SQL can hold them, so that no code
 * path (API, intake, worker, an operator's psql session) can store a state the design forbids.
 *
 * ON DELETE policy, read as an auditor would: users, files and tasks are never hard-deleted by the
 * service (users are disabled, tasks become tombstones), so references to them RESTRICT. A stray
 * hard delete is refused instead of silently taking the audit trail or the S3 keys that still need
 * erasing with it. Only rows that are worthless without their parent and carry no audit value
 * (sessions, results) cascade.
 */
export const migration0001: Migration = {
  id: '0001_initial',
  sql: `
CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL
                CONSTRAINT users_email_format CHECK (email = btrim(email) AND length(email) BETWEEN 3 AND 320 AND position('@' IN email) > 1),
  password_hash text NOT NULL CONSTRAINT users_password_hash_present CHECK (length(password_hash) > 0),
  role          text NOT NULL DEFAULT 'user' CONSTRAINT users_role_check CHECK (role IN ('user', 'admin')),
  totp_secret   text,
  disabled_at   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_updated_after_created CHECK (updated_at >= created_at)
);
-- Case-insensitive uniqueness without the citext extension (one less thing to install on Aurora and PGlite).
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE sessions (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- CASCADE: a refresh-token hash is worthless without its user and is not part of the audit trail.
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  family_id   uuid NOT NULL,
  token_hash  text NOT NULL CONSTRAINT sessions_token_hash_key UNIQUE
              CONSTRAINT sessions_token_hash_hex CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  -- SET NULL: the chain only serves reuse detection, which works on family_id alone.
  parent_id   uuid REFERENCES sessions (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  rotated_at  timestamptz,
  revoked_at  timestamptz,
  CONSTRAINT sessions_expiry_after_creation CHECK (expires_at > created_at),
  CONSTRAINT sessions_parent_not_self CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_family_id_idx ON sessions (family_id);

CREATE TABLE files (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- RESTRICT: the row holds the S3 key that must be erased first; a user with data is disabled, not deleted.
  owner_id      uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  original_name text CONSTRAINT files_original_name_length CHECK (original_name IS NULL OR octet_length(original_name) BETWEEN 1 AND 255),
  content_type  text NOT NULL CONSTRAINT files_content_type_format CHECK (content_type ~ '^[a-z]+/[a-z0-9.+-]+$'),
  size          bigint NOT NULL CONSTRAINT files_size_positive CHECK (size > 0),
  sha256        text NOT NULL CONSTRAINT files_sha256_hex CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  s3_key        text NOT NULL CONSTRAINT files_s3_key_key UNIQUE CONSTRAINT files_s3_key_present CHECK (length(s3_key) > 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- Target of tasks' (file_id, owner_id) reference: a task can only point at its owner's file.
  CONSTRAINT files_id_owner_key UNIQUE (id, owner_id)
);
CREATE INDEX files_owner_id_idx ON files (owner_id);

CREATE TABLE tasks (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- RESTRICT: tombstones and their history outlive everything; deleting a user with tasks is refused.
  owner_id       uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  file_id        uuid NOT NULL CONSTRAINT tasks_file_id_key UNIQUE,
  status         text NOT NULL DEFAULT 'awaiting_upload'
                 CONSTRAINT tasks_status_check CHECK (status IN ('awaiting_upload', 'queued', 'processing', 'completed', 'failed', 'deleted')),
  error_code     text CONSTRAINT tasks_error_code_format CHECK (error_code ~ '^[a-z][a-z0-9_]{0,63}$'),
  error_message  text CONSTRAINT tasks_error_message_length CHECK (length(error_message) <= 2000),
  page_count     integer CONSTRAINT tasks_page_count_positive CHECK (page_count > 0),
  pages_done     integer NOT NULL DEFAULT 0 CONSTRAINT tasks_pages_done_non_negative CHECK (pages_done >= 0),
  attempts       integer NOT NULL DEFAULT 0 CONSTRAINT tasks_attempts_non_negative CHECK (attempts >= 0),
  max_attempts   integer NOT NULL DEFAULT 3 CONSTRAINT tasks_max_attempts_range CHECK (max_attempts BETWEEN 1 AND 100),
  lease_until    timestamptz,
  lease_token    uuid,
  results_prefix text NOT NULL CONSTRAINT tasks_results_prefix_key UNIQUE
                 CONSTRAINT tasks_results_prefix_format CHECK (results_prefix LIKE 'results/%/'),
  -- Millisecond precision so a JS Date (and so a pagination cursor) round-trips exactly.
  created_at     timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
                 CONSTRAINT tasks_created_at_ms CHECK (created_at = date_trunc('milliseconds', created_at)),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  deleted_at     timestamptz,
  -- RESTRICT: the file row holds the upload's S3 key, needed until the objects are erased.
  CONSTRAINT tasks_file_owner_fkey FOREIGN KEY (file_id, owner_id) REFERENCES files (id, owner_id) ON DELETE RESTRICT,
  CONSTRAINT tasks_pages_done_le_page_count CHECK (pages_done <= coalesce(page_count, 0)),
  CONSTRAINT tasks_attempts_le_max CHECK (attempts <= max_attempts),
  CONSTRAINT tasks_failed_has_error_code CHECK (status <> 'failed' OR error_code IS NOT NULL),
  -- A deleted task keeps the code it failed with; no other state carries one.
  CONSTRAINT tasks_error_code_only_when_failed CHECK (error_code IS NULL OR status IN ('failed', 'deleted')),
  CONSTRAINT tasks_error_message_needs_code CHECK (error_message IS NULL OR error_code IS NOT NULL),
  CONSTRAINT tasks_lease_iff_processing CHECK ((status = 'processing') = (lease_until IS NOT NULL)),
  CONSTRAINT tasks_lease_token_only_processing CHECK (lease_token IS NULL OR status = 'processing'),
  CONSTRAINT tasks_deleted_at_iff_deleted CHECK ((status = 'deleted') = (deleted_at IS NOT NULL)),
  CONSTRAINT tasks_completed_all_pages CHECK (status <> 'completed' OR (page_count IS NOT NULL AND pages_done = page_count)),
  CONSTRAINT tasks_unclaimed_no_attempts CHECK (status NOT IN ('awaiting_upload', 'queued') OR attempts = 0),
  CONSTRAINT tasks_updated_after_created CHECK (updated_at >= created_at)
);
-- Keyset listing, newest first, with and without a status filter; tombstones are never listed.
CREATE INDEX tasks_owner_listing_idx ON tasks (owner_id, created_at DESC, id DESC) WHERE status <> 'deleted';
CREATE INDEX tasks_owner_status_listing_idx ON tasks (owner_id, status, created_at DESC, id DESC) WHERE status <> 'deleted';
-- Sweeper: stale queued / awaiting_upload tasks, and expired leases, by age of the last change.
CREATE INDEX tasks_sweep_idx ON tasks (status, updated_at) WHERE status IN ('awaiting_upload', 'queued', 'processing');

CREATE TABLE results (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- CASCADE: a result means nothing without its task; tasks are tombstoned, so this only fires on a retention purge.
  task_id       uuid NOT NULL CONSTRAINT results_task_id_key UNIQUE REFERENCES tasks (id) ON DELETE CASCADE,
  html_key      text NOT NULL CONSTRAINT results_html_key_key UNIQUE,
  text_key      text NOT NULL CONSTRAINT results_text_key_key UNIQUE,
  json_key      text NOT NULL CONSTRAINT results_json_key_key UNIQUE,
  text          text,
  confidence    double precision CONSTRAINT results_confidence_range CHECK (confidence BETWEEN 0 AND 1),
  word_count    integer NOT NULL CONSTRAINT results_word_count_non_negative CHECK (word_count >= 0),
  page_count    integer NOT NULL CONSTRAINT results_page_count_positive CHECK (page_count > 0),
  processing_ms bigint NOT NULL CONSTRAINT results_processing_ms_non_negative CHECK (processing_ms >= 0),
  model         text NOT NULL CONSTRAINT results_model_present CHECK (length(model) BETWEEN 1 AND 200),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT results_keys_distinct CHECK (html_key <> text_key AND html_key <> json_key AND text_key <> json_key)
);

CREATE TABLE task_history (
  -- The event seq: one sequence across all tasks, so "newer" is a plain comparison.
  id          bigserial PRIMARY KEY,
  -- RESTRICT: the history is the audit trail of a task and must outlive its deletion (the tombstone stays).
  task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE RESTRICT,
  from_status text CONSTRAINT task_history_from_status_check CHECK (from_status IN ('awaiting_upload', 'queued', 'processing', 'completed', 'failed', 'deleted')),
  to_status   text NOT NULL CONSTRAINT task_history_to_status_check CHECK (to_status IN ('awaiting_upload', 'queued', 'processing', 'completed', 'failed', 'deleted')),
  error_code  text,
  at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT task_history_moves CHECK (from_status IS DISTINCT FROM to_status),
  CONSTRAINT task_history_first_row CHECK ((from_status IS NULL) = (to_status = 'awaiting_upload'))
);
CREATE INDEX task_history_task_id_idx ON task_history (task_id, id);

CREATE TABLE audit_events (
  id            bigserial PRIMARY KEY,
  -- RESTRICT: who did what must outlive the account; an audited user can be disabled, never erased.
  -- (SET NULL would be an UPDATE, which the append-only trigger refuses anyway.)
  actor_user_id uuid REFERENCES users (id) ON DELETE RESTRICT,
  action        text NOT NULL CONSTRAINT audit_events_action_format CHECK (action ~ '^[a-z][a-z_]*(\\.[a-z][a-z_]*)+$'),
  -- No foreign key: attempts on ids that never existed (probing) are worth recording too.
  task_id       uuid,
  source_ip     inet,
  request_id    text CONSTRAINT audit_events_request_id_length CHECK (length(request_id) <= 200),
  at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_task_id_idx ON audit_events (task_id, at) WHERE task_id IS NOT NULL;
CREATE INDEX audit_events_actor_idx ON audit_events (actor_user_id, at) WHERE actor_user_id IS NOT NULL;

-- Append-only, whoever connects (the master user included, short of dropping the trigger).
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
END
$fn$;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
`,
};
