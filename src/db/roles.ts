import type { Database, Queryable } from './database';

/**
 * Login roles for the two kinds of client, run at deploy time by the master user after the
 * migrations (again on every deploy, so grants follow new tables). Idempotent and converging:
 * table privileges are revoked and granted afresh, so a grant removed here is removed there too.
 *
 * - untxt_api: the API's Lambdas (and the provisioning function).
 * - untxt_worker: the GPU worker and the pipeline Lambdas (intake, sweeper, jobs DLQ consumer),
 *   which do the same kind of work on tasks. It never sees users, sessions, or original file
 *   names. test/pipeline/roles.postgres.test.ts runs each of them logged in as this role.
 *
 * Nobody gets UPDATE/DELETE on audit_events (the trigger refuses them as well), nor anything on
 * schema_migrations. No passwords: in AWS both log in with IAM tokens (`rds_iam`).
 */

export const API_ROLE = 'untxt_api';
export const WORKER_ROLE = 'untxt_worker';

type Grants = Readonly<Record<string, readonly string[]>>;

/**
 * The task columns the worker's statements write (claimTask, renewLease, releaseLease,
 * recordPageDone, completeTask, transitionTask out of processing). Never owner_id, file_id,
 * results_prefix, max_attempts or created_at: a compromised client must not be able to hand a task
 * to another user, point it at another file or prefix, or grant itself more attempts.
 */
const WORKER_TASK_COLUMNS = [
  'status',
  'lease_until',
  'lease_token',
  'attempts',
  'pages_done',
  'page_count',
  'error_code',
  'error_message',
  'updated_at',
] as const;

/**
 * Deletion needs status, deleted_at, updated_at and the lease columns; the other worker columns
 * stay granted so an operator acting as untxt_api can fail an abandoned task.
 */
const API_TASK_COLUMNS = [...WORKER_TASK_COLUMNS, 'deleted_at'] as const;

const updateOf = (columns: readonly string[]): string => `UPDATE (${columns.join(', ')})`;

/** Table → privileges. Column lists in parentheses are column-level grants. */
const API_GRANTS: Grants = {
  users: ['SELECT', 'INSERT', 'UPDATE'],
  sessions: ['SELECT', 'INSERT', 'UPDATE'],
  files: ['SELECT', 'INSERT', 'UPDATE (original_name)'],
  tasks: ['SELECT', 'INSERT', updateOf(API_TASK_COLUMNS)],
  // UPDATE of text only: deletion erases it; results are written by the worker.
  results: ['SELECT', 'UPDATE (text)'],
  task_history: ['SELECT', 'INSERT'],
  audit_events: ['INSERT'],
  // Registration claims an invite (used_at, used_by); admins create them.
  invites: ['SELECT', 'INSERT', 'UPDATE (used_at, used_by)'],
  // Failed-login counters: counted, reset at a successful login, pruned when stale.
  login_throttles: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
};

const WORKER_GRANTS: Grants = {
  // Everything but the original name, which can itself be protected health information.
  files: ['SELECT (id, owner_id, content_type, size, sha256, s3_key, created_at)'],
  tasks: ['SELECT', updateOf(WORKER_TASK_COLUMNS)],
  // No UPDATE: a result is written once, with the completion; only deletion (the API) changes it.
  results: ['SELECT', 'INSERT'],
  task_history: ['SELECT', 'INSERT'],
  audit_events: ['INSERT'],
};

const ROLES_LOCK_KEY = 7_347_101_002;

const SEQUENCES = ['task_history_id_seq', 'audit_events_id_seq'] as const;

function grantStatements(role: string, grants: Grants): string[] {
  return Object.entries(grants).flatMap(([table, privileges]) =>
    privileges.map((p) => `GRANT ${p} ON TABLE ${table} TO ${role}`),
  );
}

async function ensureRole(tx: Queryable, role: string): Promise<void> {
  // NOLOGIN first: the role must not be able to log in before its grants are in place.
  // The exception block makes two concurrent deploys safe (CREATE ROLE has no IF NOT EXISTS).
  await tx.query(`DO $$
    BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN
        CREATE ROLE ${role} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
      END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`);
}

export async function provisionLoginRoles(db: Database, opts: { iamAuth: boolean }): Promise<void> {
  const roles: Array<[string, Grants]> = [
    [API_ROLE, API_GRANTS],
    [WORKER_ROLE, WORKER_GRANTS],
  ];
  // Role names are constants above, never input, so interpolating them is safe.
  for (const [role] of roles) await db.transaction((tx) => ensureRole(tx, role));

  await db.transaction(async (tx) => {
    // Concurrent GRANTs on one object can fail with "tuple concurrently updated": queue instead.
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [ROLES_LOCK_KEY]);
    const { rows } = await tx.query<{ db: string }>('SELECT current_database() AS db');
    const database = rows[0]!.db.replace(/"/g, '""');
    for (const [role, grants] of roles) {
      const statements = [
        `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`,
        `REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${role}`,
        `GRANT CONNECT ON DATABASE "${database}" TO ${role}`,
        `GRANT USAGE ON SCHEMA public TO ${role}`,
        ...grantStatements(role, grants),
        ...SEQUENCES.map((s) => `GRANT USAGE ON SEQUENCE ${s} TO ${role}`),
      ];
      for (const sql of statements) await tx.query(sql);
      if (opts.iamAuth) await tx.query(`GRANT rds_iam TO ${role}`);
      // Only once: ALTER ROLE rewrites the cluster-wide pg_authid row even when nothing changes,
      // and two databases of one cluster provisioned at once would fail on it ("tuple
      // concurrently updated").
      await tx.query(`DO $$ BEGIN
        IF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = '${role}') THEN ALTER ROLE ${role} LOGIN; END IF;
      END $$`);
    }
  });
}
