/**
 * The repository suite. One set of cases, registered once per backend (PGlite and a real
 * PostgreSQL server), so both are held to the same contract. Cases that need more than one
 * connection or a cluster (concurrent migrations, login roles) run where `backend.server` is set.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../../src/db/database';
import { sqlState, violatedConstraint } from '../../src/db/database';
import { MigrationChecksumError, runMigrations } from '../../src/db/migrate';
import { MIGRATIONS } from '../../src/db/migrations';
import { createPgDatabase } from '../../src/db/pg-database';
import { API_ROLE, WORKER_ROLE, provisionLoginRoles } from '../../src/db/roles';
import { appendAuditEvent } from '../../src/db/repositories/audit';
import { InvalidCursorError } from '../../src/db/repositories/cursor';
import { enableUser, findLoginAccount, findPrincipalState, listAccounts } from '../../src/db/repositories/accounts';
import { createSession, rotateSession } from '../../src/db/repositories/sessions';
import {
  type NewResult,
  claimTask,
  completeTask,
  createFileAndTask,
  deleteTask,
  deleteTaskInTransaction,
  endLiveLeases,
  failAbandonedTask,
  findStaleAwaitingUpload,
  findStaleQueued,
  findTaskById,
  findTaskWithUpload,
  getResult,
  getTask,
  getTaskHistory,
  listTasks,
  recordPageDone,
  releaseLease,
  renewLease,
  transitionTask,
} from '../../src/db/repositories/tasks';
import { EmailTakenError, createUser } from '../../src/db/repositories/users';
import { InvalidTransitionError } from '../../src/domain/task';
import { type TestDatabase, createServerDatabase } from '../support/test-databases';

export interface SuiteBackend {
  /** Shown in the output, so a reader can tell which backend ran. */
  title: string;
  /** A migrated database of its own for this test file. */
  open(): Promise<TestDatabase>;
  /** Set for a real server: where to create extra databases. */
  server?: { adminUrl: string };
}

// ------------------------------------------------------------------------------------------------
// Fixtures

const hex64 = (): string => randomBytes(32).toString('hex');

async function newUser(db: Queryable, email = `user-${randomUUID()}@example.test`) {
  return createUser(db, { email, passwordHash: 'scrypt$test$hash' });
}

async function newTask(db: Queryable, ownerId: string, overrides: { maxAttempts?: number; s3Key?: string } = {}) {
  return createFileAndTask(db, {
    ownerId,
    originalName: 'Patient Jane Doe – lab report.pdf',
    contentType: 'application/pdf',
    size: 123_456,
    sha256: hex64(),
    ...overrides,
  });
}

async function queuedTask(db: Queryable, ownerId: string, overrides: { maxAttempts?: number } = {}) {
  const { task } = await newTask(db, ownerId, overrides);
  const moved = await transitionTask(db, { taskId: task.id, from: 'awaiting_upload', to: 'queued', pageCount: 3 });
  if (!moved.applied) throw new Error('fixture: could not queue task');
  return moved.task;
}

async function claimedTask(db: Queryable, ownerId: string) {
  const task = await queuedTask(db, ownerId);
  const claim = await claimTask(db, { taskId: task.id, leaseSeconds: 60 });
  if (!claim.claimed) throw new Error('fixture: could not claim task');
  return claim;
}

function sampleResult(taskId: string, tag = randomUUID()): NewResult {
  const base = `results/u/2026-11/${taskId}/${taskId}_${tag}`;
  return {
    htmlKey: `${base}.html`,
    textKey: `${base}.txt`,
    jsonKey: `${base}.json`,
    text: 'Hemoglobin 13.5 g/dL',
    confidence: 0.93,
    wordCount: 3,
    pageCount: 3,
    processingMs: 4200,
    model: 'Qwen/Qwen3-VL-8B-Instruct',
  };
}

async function expireLease(db: Queryable, taskId: string): Promise<void> {
  await db.query(`UPDATE tasks SET lease_until = now() - interval '1 second' WHERE id = $1`, [taskId]);
}

async function count(db: Queryable, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM (${sql}) q`, params);
  return rows[0]!.n;
}

/** The promise's rejection, for asserting on SQLSTATE and constraint names. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the operation to be refused, but it succeeded');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------------

export function registerRepositorySuite(backend: SuiteBackend): void {
  describe(backend.title, () => {
    let handle: TestDatabase;
    let db: Database;

    beforeAll(async () => {
      handle = await backend.open();
      db = handle.db;
    });
    afterAll(async () => {
      await handle?.dispose();
    });

    describe('migrations', () => {
      it('applies nothing when the migrations run a second time', async () => {
        // Prepare: the database was migrated when it was opened.
        // Act
        const second = await runMigrations(db);
        // Assess
        expect(second.applied).toEqual([]);
        expect(await count(db, 'SELECT id FROM schema_migrations', [])).toBe(MIGRATIONS.length);
      });

      it('refuses to run when the text of an applied migration was changed', async () => {
        // Prepare
        const tampered = MIGRATIONS.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
        // Act
        const err = await rejection(runMigrations(db, tampered));
        // Assess
        expect(err).toBeInstanceOf(MigrationChecksumError);
      });
    });

    describe('users', () => {
      it('creates a user and finds them by email in any letter case', async () => {
        // Prepare
        const email = `Mixed.Case-${randomUUID()}@Example.test`;
        // Act
        const created = await newUser(db, email);
        const found = await findLoginAccount(db, email.toUpperCase());
        // Assess
        expect(found).toMatchObject({ id: created.id, email: created.email, role: created.role, passwordHash: created.passwordHash });
        expect(created.role).toBe('user');
        expect(created.createdAt).toBeInstanceOf(Date);
      });

      it('refuses a second user whose email differs only in letter case', async () => {
        // Prepare
        const email = `twice-${randomUUID()}@example.test`;
        await newUser(db, email);
        // Act
        const err = await rejection(newUser(db, email.toUpperCase()));
        // Assess
        expect(err).toBeInstanceOf(EmailTakenError);
      });

      it('lists users after a known one and answers none after a malformed id', async () => {
        // Prepare
        const created = [await newUser(db), await newUser(db)];
        // Two users made in the same millisecond tie on created_at and are then ordered by their
        // random ids: take the listing's own order, not the order they were made in.
        const order = (await listAccounts(db, { limit: 10_000 })).map((a) => a.id);
        const [first, second] = created.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
        // Act
        const after = await listAccounts(db, { limit: 10_000, afterId: first.id });
        const malformedAfter = await listAccounts(db, { limit: 5, afterId: 'not-a-uuid' });
        // Assess
        expect(after.map((a) => a.id)).toContain(second.id);
        expect(after.map((a) => a.id)).not.toContain(first.id);
        expect(malformedAfter).toEqual([]);
      });

      it('finds a user by id and answers null for an unknown or malformed id', async () => {
        // Prepare
        const user = await newUser(db);
        // Act
        const [found, unknown, malformed] = await Promise.all([
          enableUser(db, user.id),
          enableUser(db, randomUUID()),
          enableUser(db, 'not-a-uuid'),
        ]);
        // Assess
        expect(found?.email).toBe(user.email);
        expect(unknown).toBeNull();
        expect(malformed).toBeNull();
      });
    });

    describe('sessions', () => {
      it('rotates a refresh token once and revokes the whole family when a rotated token is reused', async () => {
        // Prepare
        const user = await newUser(db);
        const first = hex64();
        await createSession(db, { userId: user.id, tokenHash: first, expiresAt: new Date(Date.now() + 86_400_000) });
        const second = hex64();
        const rotated = await rotateSession(db, { tokenHash: first, newTokenHash: second });
        // Act
        const replay = await rotateSession(db, { tokenHash: first, newTokenHash: hex64() });
        // Assess
        expect(rotated.status).toBe('rotated');
        expect(replay).toMatchObject({ status: 'reused', userId: user.id });
        const state = rotated.status === 'rotated' ? await findPrincipalState(db, user.id, rotated.session.familyId, 60) : null;
        expect(state?.sessionActive).toBe(false);
      });
    });

    describe('creating a task', () => {
      it('creates the file, the task awaiting upload and its first history row in one statement', async () => {
        // Prepare
        const user = await newUser(db);
        // Act
        const { task, file, seq } = await newTask(db, user.id);
        // Assess
        expect(task).toMatchObject({ ownerId: user.id, fileId: file.id, status: 'awaiting_upload', attempts: 0, pagesDone: 0 });
        expect(file.s3Key).toBe(`uploads/${user.id}/${task.createdAt.toISOString().slice(0, 7)}/${file.id}/original.pdf`);
        expect(file.s3Key).not.toContain('Jane');
        expect(task.resultsPrefix).toMatch(new RegExp(`^results/${user.id}/\\d{4}-\\d{2}/${task.id}/$`));
        expect(file.size).toBe(123_456);
        const history = await getTaskHistory(db, task.id);
        expect(history).toEqual([expect.objectContaining({ id: seq, fromStatus: null, toStatus: 'awaiting_upload' })]);
      });
    });

    describe('transitions', () => {
      it('moves a task forward and records the move under a new seq', async () => {
        // Prepare
        const user = await newUser(db);
        const { task, seq: firstSeq } = await newTask(db, user.id);
        // Act
        const moved = await transitionTask(db, { taskId: task.id, from: 'awaiting_upload', to: 'queued', pageCount: 7 });
        // Assess
        expect(moved.applied).toBe(true);
        expect(moved.task).toMatchObject({ status: 'queued', pageCount: 7 });
        expect(moved.seq).toBeGreaterThan(firstSeq);
        expect((await getTaskHistory(db, task.id)).map((h) => h.toStatus)).toEqual(['awaiting_upload', 'queued']);
      });

      it('refuses a transition from the wrong state and writes no history', async () => {
        // Prepare
        const user = await newUser(db);
        const task = await queuedTask(db, user.id);
        const before = await getTaskHistory(db, task.id);
        // Act: a duplicated intake message tries to queue it again
        const again = await transitionTask(db, { taskId: task.id, from: 'awaiting_upload', to: 'queued', pageCount: 3 });
        // Assess
        expect(again.applied).toBe(false);
        expect(await getTaskHistory(db, task.id)).toEqual(before);
      });

      it('refuses a backward move before it reaches the database', async () => {
        // Prepare
        const user = await newUser(db);
        const task = await queuedTask(db, user.id);
        // Act
        const err = await rejection(transitionTask(db, { taskId: task.id, from: 'queued', to: 'awaiting_upload' }));
        // Assess
        expect(err).toBeInstanceOf(InvalidTransitionError);
        expect((await findTaskById(db, task.id))?.status).toBe('queued');
      });

      it('fails a task with its error code and refuses a failure without one', async () => {
        // Prepare
        const user = await newUser(db);
        const { task } = await newTask(db, user.id);
        // Act
        const noCode = await rejection(transitionTask(db, { taskId: task.id, from: 'awaiting_upload', to: 'failed' }));
        const failed = await transitionTask(db, {
          taskId: task.id,
          from: 'awaiting_upload',
          to: 'failed',
          errorCode: 'upload_expired',
          errorMessage: 'The upload URL expired before a file arrived.',
        });
        // Assess
        expect(noCode).toBeInstanceOf(InvalidTransitionError);
        expect(failed.task).toMatchObject({ status: 'failed', errorCode: 'upload_expired' });
        expect((await getTaskHistory(db, task.id)).at(-1)).toMatchObject({ toStatus: 'failed', errorCode: 'upload_expired' });
      });
    });

    describe('claims and leases', () => {
      it('lets exactly one of several concurrent claims of a task win', async () => {
        // Prepare
        const user = await newUser(db);
        const task = await queuedTask(db, user.id);
        // Act: on a server these run on separate pooled connections at the same time
        const outcomes = await Promise.all(Array.from({ length: 6 }, () => claimTask(db, { taskId: task.id, leaseSeconds: 60 })));
        // Assess
        expect(outcomes.filter((o) => o.claimed)).toHaveLength(1);
        expect(outcomes.filter((o) => !o.claimed).every((o) => !o.claimed && o.reason === 'leased')).toBe(true);
        const history = await getTaskHistory(db, task.id);
        expect(history.filter((h) => h.toStatus === 'processing')).toHaveLength(1);
        expect((await findTaskById(db, task.id))?.attempts).toBe(1);
      });

      it('makes a claim that waits for an uncommitted claim lose once that one commits', async () => {
        // Prepare
        const user = await newUser(db);
        const task = await queuedTask(db, user.id);
        let waiting: Promise<Awaited<ReturnType<typeof claimTask>>> | undefined;
        // Act: the first claim holds the row lock while the second one is started on another connection
        const first = await db.transaction(async (tx) => {
          const won = await claimTask(tx, { taskId: task.id, leaseSeconds: 60 });
          waiting = claimTask(db, { taskId: task.id, leaseSeconds: 60 });
          await sleep(150);
          return won;
        });
        const second = await waiting!;
        // Assess
        expect(first.claimed).toBe(true);
        expect(second).toMatchObject({ claimed: false, reason: 'leased' });
      });

      it('refuses a re-claim while the lease is live and allows it once the lease has expired', async () => {
        // Prepare
        const user = await newUser(db);
        const first = await claimedTask(db, user.id);
        // Act
        const whileLive = await claimTask(db, { taskId: first.task.id, leaseSeconds: 60 });
        await expireLease(db, first.task.id);
        const afterExpiry = await claimTask(db, { taskId: first.task.id, leaseSeconds: 60 });
        // Assess
        expect(whileLive).toMatchObject({ claimed: false, reason: 'leased' });
        expect(!whileLive.claimed && whileLive.leaseUntil?.getTime()).toBe(first.task.leaseUntil?.getTime());
        expect(afterExpiry.claimed).toBe(true);
        expect(afterExpiry.claimed && afterExpiry.task.attempts).toBe(2);
        expect(afterExpiry.claimed && afterExpiry.seq).toBeUndefined(); // status unchanged: no new history
        expect(afterExpiry.claimed && afterExpiry.leaseToken).not.toBe(first.leaseToken);
      });

      it('stops claiming once the attempts are used up, so the sweeper can fail the abandoned task', async () => {
        // Prepare
        const user = await newUser(db);
        const task = await queuedTask(db, user.id, { maxAttempts: 2 });
        for (let i = 0; i < 2; i++) {
          const c = await claimTask(db, { taskId: task.id, leaseSeconds: 60 });
          expect(c.claimed).toBe(true);
          await expireLease(db, task.id);
        }
        // Act
        const third = await claimTask(db, { taskId: task.id, leaseSeconds: 60 });
        const failed = await failAbandonedTask(db, { taskId: task.id, errorCode: 'attempts_exhausted' });
        // Assess
        expect(third).toEqual({ claimed: false, reason: 'exhausted' });
        expect(failed.task).toMatchObject({ status: 'failed', attempts: 2, leaseUntil: null, leaseToken: null });
        expect(await claimTask(db, { taskId: task.id, leaseSeconds: 60 })).toEqual({ claimed: false, reason: 'terminal' });
      });

      it('refuses to fail a processing task without the lease token of the claim that holds it', async () => {
        // Prepare
        const user = await newUser(db);
        const stale = await claimedTask(db, user.id);
        await expireLease(db, stale.task.id);
        const current = await claimTask(db, { taskId: stale.task.id, leaseSeconds: 60 });
        if (!current.claimed) throw new Error('re-claim failed');
        const fail = { taskId: stale.task.id, from: 'processing', to: 'failed', errorCode: 'processing_error' } as const;
        // Act
        const withoutToken = await rejection(transitionTask(db, fail));
        const withStaleToken = await transitionTask(db, { ...fail, leaseToken: stale.leaseToken });
        const withMalformedToken = await transitionTask(db, { ...fail, leaseToken: 'not-a-uuid' });
        const withCurrentToken = await transitionTask(db, { ...fail, leaseToken: current.leaseToken });
        // Assess
        expect(withoutToken).toBeInstanceOf(InvalidTransitionError);
        expect(withStaleToken.applied).toBe(false);
        expect(withMalformedToken.applied).toBe(false);
        expect(withCurrentToken.task).toMatchObject({ status: 'failed', errorCode: 'processing_error' });
      });

      it('never lets the sweeper fail a task whose lease is still live', async () => {
        // Prepare
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        // Act
        const whileLive = await failAbandonedTask(db, { taskId: claim.task.id, errorCode: 'attempts_exhausted' });
        await expireLease(db, claim.task.id);
        const afterExpiry = await failAbandonedTask(db, { taskId: claim.task.id, errorCode: 'attempts_exhausted' });
        // Assess
        expect(whileLive.applied).toBe(false);
        expect(afterExpiry.task).toMatchObject({ status: 'failed', errorCode: 'attempts_exhausted', leaseToken: null });
        expect((await getTaskHistory(db, claim.task.id)).at(-1)).toMatchObject({ fromStatus: 'processing', toStatus: 'failed', id: afterExpiry.seq });
      });

      it('answers not applied to renewals, releases and checkpoints with a malformed id or token', async () => {
        // Prepare
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        // Act
        const renew = await renewLease(db, { taskId: claim.task.id, leaseToken: 'not-a-uuid', leaseSeconds: 60 });
        const release = await releaseLease(db, { taskId: claim.task.id, leaseToken: "' OR 1=1 --" });
        const checkpoint = await recordPageDone(db, { taskId: 'nope', leaseToken: claim.leaseToken, pagesDone: 1 });
        // Assess
        expect(renew).toEqual({ renewed: false });
        expect(release).toBe(false);
        expect(checkpoint).toEqual({ applied: false });
        expect((await findTaskById(db, claim.task.id))?.leaseToken).toBe(claim.leaseToken);
      });

      it('refuses a lease that is not a positive, finite number of seconds and impossible page counts', async () => {
        // Prepare
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        const held = { taskId: claim.task.id, leaseToken: claim.leaseToken };
        // Act
        const refusals = await Promise.all([
          rejection(renewLease(db, { ...held, leaseSeconds: 0 })),
          rejection(renewLease(db, { ...held, leaseSeconds: -5 })),
          rejection(renewLease(db, { ...held, leaseSeconds: Number.NaN })),
          rejection(claimTask(db, { taskId: claim.task.id, leaseSeconds: Number.POSITIVE_INFINITY })),
          rejection(recordPageDone(db, { ...held, pagesDone: -1 })),
          rejection(recordPageDone(db, { ...held, pagesDone: 1, pageCount: 0 })),
        ]);
        // Assess
        for (const err of refusals) expect(err).toBeInstanceOf(RangeError);
        expect((await findTaskById(db, claim.task.id))?.leaseUntil?.getTime()).toBe(claim.task.leaseUntil?.getTime());
      });

      it('gives the lease back on a clean release without counting the attempt', async () => {
        // Prepare
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        // Act
        const released = await releaseLease(db, { taskId: claim.task.id, leaseToken: claim.leaseToken });
        const next = await claimTask(db, { taskId: claim.task.id, leaseSeconds: 60 });
        // Assess
        expect(released).toBe(true);
        expect(next.claimed && next.task.attempts).toBe(1);
      });

      it('ends every live lease after a restart, keeping the attempt, so the task can be claimed at once', async () => {
        // Prepare
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        const queued = await queuedTask(db, user.id);
        const refused = await claimTask(db, { taskId: claim.task.id, leaseSeconds: 60 });
        // Act
        const ended = await endLiveLeases(db);
        const next = await claimTask(db, { taskId: claim.task.id, leaseSeconds: 60 });
        // Assess
        expect(refused).toMatchObject({ claimed: false, reason: 'leased' });
        expect(ended).toBeGreaterThanOrEqual(1);
        expect(next.claimed && next.task.attempts).toBe(2);
        const untouched = await findTaskById(db, queued.id);
        expect(untouched).toMatchObject({ status: 'queued', leaseUntil: queued.leaseUntil, attempts: queued.attempts });
      });

      it('accepts renewals and checkpoints only from the claim that holds the task', async () => {
        // Prepare
        const user = await newUser(db);
        const stale = await claimedTask(db, user.id);
        await expireLease(db, stale.task.id);
        const current = await claimTask(db, { taskId: stale.task.id, leaseSeconds: 60 });
        if (!current.claimed) throw new Error('re-claim failed');
        // Act
        const staleRenew = await renewLease(db, { taskId: stale.task.id, leaseToken: stale.leaseToken, leaseSeconds: 60 });
        const staleCheckpoint = await recordPageDone(db, { taskId: stale.task.id, leaseToken: stale.leaseToken, pagesDone: 3 });
        const renew = await renewLease(db, { taskId: stale.task.id, leaseToken: current.leaseToken, leaseSeconds: 600 });
        const checkpoint = await recordPageDone(db, { taskId: stale.task.id, leaseToken: current.leaseToken, pagesDone: 2 });
        const lateSmaller = await recordPageDone(db, { taskId: stale.task.id, leaseToken: current.leaseToken, pagesDone: 1 });
        // Assess
        expect(staleRenew.renewed).toBe(false);
        expect(staleCheckpoint.applied).toBe(false);
        expect(renew.renewed && renew.leaseUntil.getTime()).toBeGreaterThan(current.task.leaseUntil!.getTime());
        expect(checkpoint.applied && checkpoint.task.pagesDone).toBe(2);
        expect(lateSmaller.applied && lateSmaller.task.pagesDone).toBe(2);
      });

      it('explains refused claims of terminal, missing and not yet uploaded tasks', async () => {
        // Prepare
        const user = await newUser(db);
        const { task: waiting } = await newTask(db, user.id);
        const done = await claimedTask(db, user.id);
        await completeTask(db, { taskId: done.task.id, leaseToken: done.leaseToken, result: sampleResult(done.task.id) });
        // Act
        const [terminal, missing, notReady] = await Promise.all([
          claimTask(db, { taskId: done.task.id, leaseSeconds: 60 }),
          claimTask(db, { taskId: randomUUID(), leaseSeconds: 60 }),
          claimTask(db, { taskId: waiting.id, leaseSeconds: 60 }),
        ]);
        // Assess
        expect(terminal).toEqual({ claimed: false, reason: 'terminal' });
        expect(missing).toEqual({ claimed: false, reason: 'missing' });
        expect(notReady).toEqual({ claimed: false, reason: 'not_ready' });
      });
    });

    describe('completion', () => {
      it('records one result when the completion is delivered twice', async () => {
        // Prepare
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        const result = sampleResult(claim.task.id);
        // Act
        const first = await completeTask(db, { taskId: claim.task.id, leaseToken: claim.leaseToken, result });
        const second = await completeTask(db, { taskId: claim.task.id, leaseToken: claim.leaseToken, result: sampleResult(claim.task.id) });
        // Assess
        expect(first.applied && first.task).toMatchObject({ status: 'completed', pagesDone: 3, pageCount: 3, leaseUntil: null });
        expect(second).toEqual({ applied: false, reason: 'already_completed' });
        expect(await count(db, 'SELECT 1 FROM results WHERE task_id = $1', [claim.task.id])).toBe(1);
        expect(await getResult(db, { ownerId: user.id, taskId: claim.task.id })).toMatchObject({ text: result.text, htmlKey: result.htmlKey });
        expect((await getTaskHistory(db, claim.task.id)).filter((h) => h.toStatus === 'completed')).toHaveLength(1);
      });

      it('reports deleted when the user deleted the task while it was processing', async () => {
        // Prepare
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        await deleteTask(db, { ownerId: user.id, taskId: claim.task.id });
        // Act
        const outcome = await completeTask(db, { taskId: claim.task.id, leaseToken: claim.leaseToken, result: sampleResult(claim.task.id) });
        // Assess
        expect(outcome).toEqual({ applied: false, reason: 'deleted' });
        expect(await count(db, 'SELECT 1 FROM results WHERE task_id = $1', [claim.task.id])).toBe(0);
      });

      it('refuses a completion that carries no valid lease token', async () => {
        // Prepare
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        const result = sampleResult(claim.task.id);
        // Act: a caller outside the type system (or a bug) leaves the token out
        const missing = await completeTask(db, { taskId: claim.task.id, result } as unknown as Parameters<typeof completeTask>[1]);
        const malformed = await completeTask(db, { taskId: claim.task.id, leaseToken: 'not-a-uuid', result });
        // Assess
        expect(missing).toEqual({ applied: false, reason: 'lease_lost' });
        expect(malformed).toEqual({ applied: false, reason: 'lease_lost' });
        expect((await findTaskById(db, claim.task.id))?.status).toBe('processing');
      });

      it('refuses the completion of a claim that lost its lease to another attempt', async () => {
        // Prepare
        const user = await newUser(db);
        const stale = await claimedTask(db, user.id);
        await expireLease(db, stale.task.id);
        await claimTask(db, { taskId: stale.task.id, leaseSeconds: 60 });
        // Act
        const outcome = await completeTask(db, { taskId: stale.task.id, leaseToken: stale.leaseToken, result: sampleResult(stale.task.id) });
        // Assess
        expect(outcome).toEqual({ applied: false, reason: 'lease_lost' });
      });
    });

    describe('listing and reading', () => {
      it('lists newest first and pages stably while tasks are inserted between pages', async () => {
        // Prepare
        const user = await newUser(db);
        const created: string[] = [];
        for (let i = 0; i < 7; i++) created.push((await newTask(db, user.id)).task.id);
        const unpaged = (await listTasks(db, { ownerId: user.id, limit: 100 })).items;
        const snapshot = unpaged.map((t) => t.id);
        // Act
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page: Awaited<ReturnType<typeof listTasks>> = await listTasks(db, { ownerId: user.id, limit: 3, cursor });
          seen.push(...page.items.map((t) => t.id));
          cursor = page.nextCursor;
          pages++;
          await newTask(db, user.id); // a newer task arrives between two pages
        } while (cursor);
        // Assess
        // Rows created within one millisecond are ordered by id, so compare with the unpaged listing.
        expect(seen).toEqual(snapshot);
        const times = unpaged.map((t) => t.createdAt.getTime());
        expect(times).toEqual([...times].sort((a, b) => b - a));
        expect([...seen].sort()).toEqual([...created].sort());
        expect(pages).toBe(3);
      });

      it('filters by status, hides deleted tasks and rejects a forged cursor', async () => {
        // Prepare
        const user = await newUser(db);
        const queued = await queuedTask(db, user.id);
        const { task: waiting } = await newTask(db, user.id);
        const { task: gone } = await newTask(db, user.id);
        await deleteTask(db, { ownerId: user.id, taskId: gone.id });
        const forged = Buffer.from(JSON.stringify({ v: 1, t: 'yesterday', i: "' OR 1=1 --" })).toString('base64url');
        // Act
        const onlyQueued = await listTasks(db, { ownerId: user.id, status: 'queued', limit: 10 });
        const all = await listTasks(db, { ownerId: user.id, limit: 10 });
        const err = await rejection(listTasks(db, { ownerId: user.id, limit: 10, cursor: forged }));
        // Assess
        expect(onlyQueued.items.map((t) => t.id)).toEqual([queued.id]);
        expect(all.items.map((t) => t.id)).toEqual([waiting.id, queued.id]);
        expect(all.items[0]).toMatchObject({ filename: 'Patient Jane Doe – lab report.pdf', contentType: 'application/pdf', size: 123_456 });
        expect(all.nextCursor).toBeNull();
        expect(err).toBeInstanceOf(InvalidCursorError);
      });

      it('shows a completed task with its result summary but without the text', async () => {
        // Prepare
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        await completeTask(db, { taskId: claim.task.id, leaseToken: claim.leaseToken, result: sampleResult(claim.task.id) });
        // Act
        const detail = await getTask(db, { ownerId: user.id, taskId: claim.task.id });
        // Assess
        expect(detail?.result).toMatchObject({ wordCount: 3, pageCount: 3, processingMs: 4200, confidence: 0.93 });
        expect(detail?.result).not.toHaveProperty('text');
      });

      it('never shows, lists or deletes another user’s completed task, while its owner sees it', async () => {
        // Prepare: completed, so a result exists that an owner check must hide
        const alice = await newUser(db);
        const mallory = await newUser(db);
        const claim = await claimedTask(db, alice.id);
        const task = claim.task;
        await completeTask(db, { taskId: task.id, leaseToken: claim.leaseToken, result: sampleResult(task.id) });
        // Act
        const listed = await listTasks(db, { ownerId: mallory.id, limit: 100 });
        const got = await getTask(db, { ownerId: mallory.id, taskId: task.id });
        const result = await getResult(db, { ownerId: mallory.id, taskId: task.id });
        const deleted = await deleteTask(db, { ownerId: mallory.id, taskId: task.id });
        const ownerListed = await listTasks(db, { ownerId: alice.id, limit: 100 });
        const ownerGot = await getTask(db, { ownerId: alice.id, taskId: task.id });
        const ownerResult = await getResult(db, { ownerId: alice.id, taskId: task.id });
        // Assess
        expect(listed.items).toEqual([]);
        expect(got).toBeNull();
        expect(result).toBeNull();
        expect(deleted).toBeNull();
        expect(ownerListed.items.map((t) => t.id)).toEqual([task.id]);
        expect(ownerGot?.status).toBe('completed');
        expect(ownerResult?.text).toBe('Hemoglobin 13.5 g/dL');
      });

      it('dates a task by the clock when it is created, not by the start of its transaction', async () => {
        // Prepare
        const user = await newUser(db);
        // Act: a transaction that has been open for a while creates a task
        const { started, task } = await db.transaction(async (tx) => {
          const { rows } = await tx.query<{ started: Date }>('SELECT now() AS started, pg_sleep(0.02)');
          const created = await newTask(tx, user.id);
          await transitionTask(tx, { taskId: created.task.id, from: 'awaiting_upload', to: 'queued', pageCount: 1 });
          return { started: rows[0]!.started, task: created.task };
        });
        // Assess: later than its transaction began, so newer than any cursor handed out meanwhile
        expect(task.createdAt.getTime()).toBeGreaterThan(started.getTime());
      });
    });

    describe('deletion', () => {
      it('nulls the file name and the text, keeps the tombstone and history, and returns what to erase', async () => {
        // Prepare
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        const result = sampleResult(claim.task.id);
        await completeTask(db, { taskId: claim.task.id, leaseToken: claim.leaseToken, result });
        // Act
        const deleted = await deleteTask(db, { ownerId: user.id, taskId: claim.task.id });
        const again = await deleteTask(db, { ownerId: user.id, taskId: claim.task.id });
        // Assess
        expect(deleted).toMatchObject({ previousStatus: 'completed', resultsPrefix: claim.task.resultsPrefix });
        expect(deleted?.task.status).toBe('deleted');
        expect(deleted?.uploadKey).toMatch(/^uploads\//);
        expect(deleted?.resultKeys.sort()).toEqual([result.htmlKey, result.jsonKey, result.textKey].sort());
        expect(again).toBeNull();
        expect(await getTask(db, { ownerId: user.id, taskId: claim.task.id })).toBeNull();
        const { rows: file } = await db.query<{ original_name: string | null }>(
          'SELECT f.original_name FROM files f JOIN tasks t ON t.file_id = f.id WHERE t.id = $1',
          [claim.task.id],
        );
        const { rows: text } = await db.query<{ text: string | null }>('SELECT text FROM results WHERE task_id = $1', [claim.task.id]);
        expect(file[0]?.original_name).toBeNull();
        expect(text[0]?.text).toBeNull();
        const history = await getTaskHistory(db, claim.task.id);
        expect(history.map((h) => h.toStatus)).toEqual(['awaiting_upload', 'queued', 'processing', 'completed', 'deleted']);
        expect(history.at(-1)?.id).toBe(deleted?.seq);
        expect((await findTaskById(db, claim.task.id))?.deletedAt).toBeInstanceOf(Date);
      });
    });

    describe('audit events', () => {
      it('appends audit events and refuses to update, delete or truncate them', async () => {
        // Prepare
        const user = await newUser(db);
        const requestId = randomUUID();
        await appendAuditEvent(db, { actorUserId: user.id, action: 'task.read', taskId: randomUUID(), sourceIp: '203.0.113.7', requestId });
        // Act
        const update = await rejection(db.query('UPDATE audit_events SET action = $1 WHERE request_id = $2', ['task.none', requestId]));
        const remove = await rejection(db.query('DELETE FROM audit_events WHERE request_id = $1', [requestId]));
        const truncate = await rejection(db.query('TRUNCATE audit_events'));
        // Assess
        for (const err of [update, remove, truncate]) expect(String(err)).toMatch(/append-only/);
        const { rows } = await db.query<{ source_ip: string; actor_user_id: string }>(
          'SELECT source_ip, actor_user_id FROM audit_events WHERE request_id = $1',
          [requestId],
        );
        expect(rows).toEqual([{ source_ip: '203.0.113.7', actor_user_id: user.id }]);
      });
    });

    describe('constraints', () => {
      it('refuses a status that does not exist', async () => {
        // Prepare
        const user = await newUser(db);
        const { task } = await newTask(db, user.id);
        // Act
        const err = await rejection(db.query(`UPDATE tasks SET status = 'paused' WHERE id = $1`, [task.id]));
        // Assess
        expect(sqlState(err)).toBe('23514');
        expect(violatedConstraint(err)).toBe('tasks_status_check');
      });

      it('refuses a second file with the same S3 key', async () => {
        // Prepare
        const user = await newUser(db);
        const { file } = await newTask(db, user.id);
        // Act
        const err = await rejection(newTask(db, user.id, { s3Key: file.s3Key }));
        // Assess
        expect(sqlState(err)).toBe('23505');
        expect(violatedConstraint(err)).toBe('files_s3_key_key');
      });

      it('refuses a second result row for one task', async () => {
        // Prepare
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        await completeTask(db, { taskId: claim.task.id, leaseToken: claim.leaseToken, result: sampleResult(claim.task.id) });
        const r = sampleResult(claim.task.id);
        // Act
        const err = await rejection(
          db.query(
            `INSERT INTO results (task_id, html_key, text_key, json_key, word_count, page_count, processing_ms, model)
             VALUES ($1, $2, $3, $4, 0, 1, 0, 'm')`,
            [claim.task.id, r.htmlKey, r.textKey, r.jsonKey],
          ),
        );
        // Assess
        expect(violatedConstraint(err)).toBe('results_task_id_key');
      });

      it('refuses more pages done than pages, more attempts than allowed and a failure without a code', async () => {
        // Prepare
        const user = await newUser(db);
        const task = await queuedTask(db, user.id);
        // Act
        const pages = await rejection(db.query('UPDATE tasks SET pages_done = 4 WHERE id = $1', [task.id]));
        const attempts = await rejection(db.query('UPDATE tasks SET attempts = max_attempts + 1 WHERE id = $1', [task.id]));
        const failed = await rejection(db.query(`UPDATE tasks SET status = 'failed' WHERE id = $1`, [task.id]));
        // Assess
        expect(violatedConstraint(pages)).toBe('tasks_pages_done_le_page_count');
        expect(violatedConstraint(attempts)).toBe('tasks_attempts_le_max');
        expect(violatedConstraint(failed)).toBe('tasks_failed_has_error_code');
      });

      it('refuses a task that points at another user’s file', async () => {
        // Prepare
        const alice = await newUser(db);
        const mallory = await newUser(db);
        const { task } = await newTask(db, alice.id);
        // Act
        const err = await rejection(db.query('UPDATE tasks SET owner_id = $1 WHERE id = $2', [mallory.id, task.id]));
        // Assess
        expect(sqlState(err)).toBe('23503');
      });
    });

    describe('sweeper queries', () => {
      it('finds queued and awaiting-upload tasks older than the given age, and only those', async () => {
        // Prepare
        const user = await newUser(db);
        const oldQueued = await queuedTask(db, user.id);
        const { task: oldWaiting } = await newTask(db, user.id);
        const fresh = await queuedTask(db, user.id);
        await db.query(`UPDATE tasks SET created_at = date_trunc('milliseconds', now() - interval '2 hours'), updated_at = now() - interval '1 hour'
           WHERE id = ANY($1::uuid[])`, [
          [oldQueued.id, oldWaiting.id],
        ]);
        // Act
        const staleQueued = await findStaleQueued(db, { olderThanSeconds: 600 });
        const staleWaiting = await findStaleAwaitingUpload(db, { olderThanSeconds: 1200 });
        // Assess
        expect(staleQueued.map((t) => t.id)).toContain(oldQueued.id);
        expect(staleQueued.map((t) => t.id)).not.toContain(fresh.id);
        expect(staleWaiting.map((t) => t.id)).toContain(oldWaiting.id);
        expect(staleWaiting.every((t) => t.status === 'awaiting_upload')).toBe(true);
      });
    });

    if (backend.server) registerServerOnlyCases(backend.server.adminUrl, () => db);
  });
}

// ------------------------------------------------------------------------------------------------
// Cases that need a cluster: more databases, more connections, roles.

/** Runs `fn` as `role` inside a transaction (rolled back by the caller's error, if any). */
async function asRole<T>(db: Database, role: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.query(`SET LOCAL ROLE ${role}`);
    return fn(tx);
  });
}

function registerServerOnlyCases(adminUrl: string, getDb: () => Database): void {
  describe('on the server only', () => {
    it('lets two concurrent migration runs both succeed with each migration applied once', async () => {
      // Prepare
      const fresh = await createServerDatabase(adminUrl);
      const a = createPgDatabase({ connectionString: fresh.url, max: 2 });
      const b = createPgDatabase({ connectionString: fresh.url, max: 2 });
      try {
        // Act
        const [ra, rb] = await Promise.all([runMigrations(a), runMigrations(b)]);
        // Assess
        expect([...ra.applied, ...rb.applied].sort()).toEqual(MIGRATIONS.map((m) => m.id).sort());
        expect(await count(a, 'SELECT id FROM schema_migrations', [])).toBe(MIGRATIONS.length);
      } finally {
        await Promise.all([a.close(), b.close()]);
        await fresh.drop();
      }
    });

    it('logs, and survives, the loss of an idle pooled connection', async () => {
      // Prepare
      const logger = { error: jest.fn() };
      const applicationName = `untxt-idle-${randomUUID().slice(0, 8)}`;
      const pool = createPgDatabase({ connectionString: adminUrl, application_name: applicationName, max: 1 }, { logger });
      try {
        await pool.query('SELECT 1');
        // Act: the server ends the idle connection (as a restart or failover would)
        await getDb().query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
        while (logger.error.mock.calls.length === 0) await sleep(10);
        // Assess
        expect(logger.error).toHaveBeenCalledWith('database connection lost while idle', expect.objectContaining({ sqlState: '57P01' }));
        expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await pool.close();
      }
    });

    it('erases the text of a result that was committed while the deletion waited for the task', async () => {
      // Prepare
      const db = getDb();
      const user = await newUser(db);
      const claim = await claimedTask(db, user.id);
      const result = sampleResult(claim.task.id);
      let deleting: Promise<Awaited<ReturnType<typeof deleteTask>>> | undefined;
      // Act: the completion holds the row lock while the deletion starts on another connection
      await db.transaction(async (tx) => {
        const done = await completeTask(tx, { taskId: claim.task.id, leaseToken: claim.leaseToken, result });
        if (!done.applied) throw new Error('completion failed');
        deleting = deleteTask(db, { ownerId: user.id, taskId: claim.task.id });
        await sleep(150);
      });
      const deleted = await deleting!;
      // Assess
      expect(deleted).toMatchObject({ previousStatus: 'completed' });
      expect(deleted?.resultKeys.sort()).toEqual([result.htmlKey, result.jsonKey, result.textKey].sort());
      const { rows } = await db.query<{ text: string | null }>('SELECT text FROM results WHERE task_id = $1', [claim.task.id]);
      expect(rows).toEqual([{ text: null }]);
    });

    describe('login roles', () => {
      beforeAll(async () => {
        // A stand-in for the role RDS provides; roles are cluster-wide, so tolerate a parallel file.
        await getDb().query(`DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
      });

      it('provisions the login roles twice without error, each able to log in and granted rds_iam', async () => {
        // Prepare
        const db = getDb();
        // Act
        await provisionLoginRoles(db, { iamAuth: true });
        await provisionLoginRoles(db, { iamAuth: true });
        // Assess
        const { rows } = await db.query<{ rolname: string; rolcanlogin: boolean; iam: boolean }>(
          `SELECT rolname, rolcanlogin, pg_has_role(oid, 'rds_iam', 'MEMBER') AS iam
           FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
          [[API_ROLE, WORKER_ROLE]],
        );
        expect(rows).toEqual([
          { rolname: API_ROLE, rolcanlogin: true, iam: true },
          { rolname: WORKER_ROLE, rolcanlogin: true, iam: true },
        ]);
      });

      it('lets untxt_api run the API’s work but never update or delete audit_events', async () => {
        // Prepare
        const db = getDb();
        await provisionLoginRoles(db, { iamAuth: false });
        const user = await newUser(db);
        // Act
        const deleted = await asRole(db, API_ROLE, async (tx) => {
          const { task } = await newTask(tx, user.id);
          await transitionTask(tx, { taskId: task.id, from: 'awaiting_upload', to: 'queued', pageCount: 1 });
          await listTasks(tx, { ownerId: user.id, limit: 5 });
          await appendAuditEvent(tx, { actorUserId: user.id, action: 'task.delete', taskId: task.id });
          return deleteTaskInTransaction(tx, { ownerId: user.id, taskId: task.id });
        });
        const update = await rejection(asRole(db, API_ROLE, (tx) => tx.query(`UPDATE audit_events SET action = 'x.y'`)));
        const remove = await rejection(asRole(db, API_ROLE, (tx) => tx.query('DELETE FROM audit_events')));
        const migrations = await rejection(asRole(db, API_ROLE, (tx) => tx.query('SELECT * FROM schema_migrations')));
        // Assess
        expect(deleted?.task.status).toBe('deleted');
        for (const err of [update, remove, migrations]) {
          expect(sqlState(err)).toBe('42501');
          expect(String(err)).toMatch(/permission denied/);
        }
      });

      it.each([API_ROLE, WORKER_ROLE])('refuses %s a change of a task’s owner, file, prefix or attempt limit', async (role) => {
        // Prepare
        const db = getDb();
        await provisionLoginRoles(db, { iamAuth: false });
        const alice = await newUser(db);
        const mallory = await newUser(db);
        const { task } = await newTask(db, alice.id);
        const attempt = (sql: string, params: unknown[]) => rejection(asRole(db, role, (tx) => tx.query(sql, params)));
        // Act
        const refusals = [
          await attempt('UPDATE tasks SET owner_id = $1 WHERE id = $2', [mallory.id, task.id]),
          await attempt('UPDATE tasks SET file_id = $1 WHERE id = $2', [randomUUID(), task.id]),
          await attempt(`UPDATE tasks SET results_prefix = 'results/x/' WHERE id = $1`, [task.id]),
          await attempt('UPDATE tasks SET max_attempts = 100 WHERE id = $1', [task.id]),
          await attempt('UPDATE tasks SET created_at = created_at WHERE id = $1', [task.id]),
        ];
        // Assess
        for (const err of refusals) expect(sqlState(err)).toBe('42501');
        expect(await findTaskById(db, task.id)).toEqual(task);
      });

      it('refuses untxt_worker any change of a recorded result', async () => {
        // Prepare
        const db = getDb();
        await provisionLoginRoles(db, { iamAuth: false });
        const user = await newUser(db);
        const claim = await claimedTask(db, user.id);
        await completeTask(db, { taskId: claim.task.id, leaseToken: claim.leaseToken, result: sampleResult(claim.task.id) });
        // Act
        const err = await rejection(
          asRole(db, WORKER_ROLE, (tx) => tx.query(`UPDATE results SET text = 'forged' WHERE task_id = $1`, [claim.task.id])),
        );
        // Assess
        expect(sqlState(err)).toBe('42501');
      });

      it('lets untxt_api fail an abandoned task and delete a completed one with its column grants', async () => {
        // Prepare
        const db = getDb();
        await provisionLoginRoles(db, { iamAuth: false });
        const user = await newUser(db);
        const abandoned = await claimedTask(db, user.id);
        await expireLease(db, abandoned.task.id);
        const done = await claimedTask(db, user.id);
        await completeTask(db, { taskId: done.task.id, leaseToken: done.leaseToken, result: sampleResult(done.task.id) });
        // Act
        const failed = await asRole(db, API_ROLE, (tx) => failAbandonedTask(tx, { taskId: abandoned.task.id, errorCode: 'attempts_exhausted' }));
        const deleted = await asRole(db, API_ROLE, (tx) => deleteTaskInTransaction(tx, { ownerId: user.id, taskId: done.task.id }));
        // Assess
        expect(failed.task?.status).toBe('failed');
        expect(deleted?.resultKeys).toHaveLength(3);
      });

      it('lets untxt_worker claim and complete a task but never read original file names or users', async () => {
        // Prepare
        const db = getDb();
        await provisionLoginRoles(db, { iamAuth: false });
        const user = await newUser(db);
        const task = await queuedTask(db, user.id);
        // Act
        const completed = await asRole(db, WORKER_ROLE, async (tx) => {
          const withUpload = await findTaskWithUpload(tx, task.id);
          const claim = await claimTask(tx, { taskId: task.id, leaseSeconds: 60 });
          if (!claim.claimed || !withUpload) throw new Error('claim failed');
          await recordPageDone(tx, { taskId: task.id, leaseToken: claim.leaseToken, pagesDone: 1 });
          return completeTask(tx, { taskId: task.id, leaseToken: claim.leaseToken, result: sampleResult(task.id) });
        });
        const names = await rejection(asRole(db, WORKER_ROLE, (tx) => tx.query('SELECT original_name FROM files')));
        const users = await rejection(asRole(db, WORKER_ROLE, (tx) => tx.query('SELECT email FROM users')));
        // Assess
        expect(completed.applied).toBe(true);
        expect(sqlState(names)).toBe('42501');
        expect(sqlState(users)).toBe('42501');
      });
    });
  });
}
