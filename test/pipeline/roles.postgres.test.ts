/**
 * The login roles' grants are enough for the work each role does, on a real PostgreSQL server:
 * intake, the sweeper, the DLQ consumer and the worker log in as untxt_worker (as they do in AWS,
 * where the pipeline Lambdas and the GPU worker share that role), the API as untxt_api.
 */
import { createHash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { InMemoryJobQueue } from '../../src/adapters/local/in-memory-job-queue';
import { systemClock } from '../../src/adapters/clock';
import type { Database } from '../../src/db/database';
import { runMigrations } from '../../src/db/migrate';
import { createPgDatabase } from '../../src/db/pg-database';
import { claimTask, createFileAndTask, deleteTask, findTaskById, getResult, getTask, listTasks, releaseLease, renewLease } from '../../src/db/repositories/tasks';
import { createUser } from '../../src/db/repositories/users';
import { API_ROLE, WORKER_ROLE, provisionLoginRoles } from '../../src/db/roles';
import { UnreadablePageError } from '../../src/ocr/engine';
import { handleDeadJob } from '../../src/pipeline/dead-letters';
import { DEFAULT_INTAKE_LIMITS, intakeObject, type IntakeDeps } from '../../src/pipeline/intake';
import { sweep } from '../../src/pipeline/sweeper';
import { Worker, type WorkerOptions } from '../../inference-container/src/worker';
import { createServerDatabase, testServer } from '../support/test-databases';
import { StubEngine } from '../worker/support/stub-engine';
import { textPdf } from './support/documents';
import { ageTask, intakeDepsOn, MemoryObjectStore, RecordingBus, silentLogger } from './support/harness';

const server = testServer();

const FAST: Partial<WorkerOptions> = { leaseSeconds: 30, heartbeatSeconds: 60, pollWaitSeconds: 0, retryDelaySeconds: 0, progressIntervalMs: 0, raster: { dpi: 20 } };

function asLogin(url: string, role: string): Database {
  const u = new URL(url);
  u.username = role;
  return createPgDatabase({ connectionString: u.toString(), max: 4 });
}

describe('login role grants on a PostgreSQL server', () => {
  let drop: () => Promise<void>;
  let admin: Database;
  let api: Database;
  let worker: Database;
  let objects: MemoryObjectStore;
  let jobs: InMemoryJobQueue;
  let bus: RecordingBus;
  let engine: StubEngine;
  let userId: string;
  let pdf: Uint8Array;

  beforeAll(async () => {
    const created = await createServerDatabase(server.url);
    drop = created.drop;
    admin = createPgDatabase({ connectionString: created.url, max: 2 });
    await runMigrations(admin);
    await provisionLoginRoles(admin, { iamAuth: false });
    api = asLogin(created.url, API_ROLE);
    worker = asLogin(created.url, WORKER_ROLE);
    userId = (await createUser(api, { email: `roles-${randomUUID()}@example.com`, passwordHash: 'x' })).id;
    pdf = await textPdf([['one'], ['two'], ['three']]);
  });

  afterAll(async () => {
    await Promise.all([api?.close(), worker?.close(), admin?.close()]);
    await drop?.();
  });

  beforeEach(() => {
    objects = new MemoryObjectStore();
    jobs = new InMemoryJobQueue({ visibilityTimeoutSeconds: 30 });
    bus = new RecordingBus();
    engine = new StubEngine();
  });
  afterEach(() => jobs.close());

  const intakeDeps = (): IntakeDeps => intakeDepsOn({ db: worker, objects, jobs, events: bus });
  const newWorker = () => new Worker({ db: worker, objects, jobs, events: bus, engine, clock: systemClock, logger: silentLogger }, FAST);

  /** Created by the API role; uploaded unless told otherwise. */
  async function newTask(options: { upload?: boolean; maxAttempts?: number; ownerId?: string } = {}) {
    const created = await createFileAndTask(api, {
      ownerId: options.ownerId ?? userId,
      originalName: 'scan.pdf',
      contentType: 'application/pdf',
      size: pdf.byteLength,
      sha256: createHash('sha256').update(pdf).digest('hex'),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    });
    if (options.upload !== false) await objects.put({ key: created.file.s3Key, body: pdf, contentType: 'application/pdf' });
    return { task: created.task, key: created.file.s3Key };
  }

  async function takeJob() {
    const [message] = await jobs.receive({ visibilityTimeoutSeconds: 30 });
    if (!message) throw new Error('no job message');
    return message;
  }

  const age = (taskId: string, minutes: number) => ageTask(admin, taskId, minutes);

  it('lets untxt_worker take in an upload and run the whole job: claim, per-page checkpoints, completion; untxt_api then reads and deletes it', async () => {
    // Prepare
    const { task, key } = await newTask();

    // Act
    const intake = await intakeObject({ key }, intakeDeps());
    const outcome = await newWorker().handle(await takeJob());
    const detail = await getTask(api, { ownerId: userId, taskId: task.id });
    const result = await getResult(api, { ownerId: userId, taskId: task.id });
    const listed = await listTasks(api, { ownerId: userId, limit: 50 });
    const deleted = await deleteTask(api, { ownerId: userId, taskId: task.id });
    const names = await worker.query('SELECT original_name FROM files').catch((error: unknown) => error);

    // Assess
    expect([intake, outcome]).toEqual(['queued', 'completed']);
    expect(detail).toMatchObject({ status: 'completed', pagesDone: 3, pageCount: 3 });
    expect(result?.text).toBe('page 1\n\npage 2\n\npage 3');
    expect(JSON.stringify(listed)).toContain(task.id);
    expect(deleted?.task.status).toBe('deleted');
    expect(String(names)).toMatch(/permission denied/); // really logged in as the role
  });

  it('lets untxt_worker renew and release a lease, and fail a task permanently', async () => {
    // Prepare
    const leased = await newTask();
    const broken = await newTask();
    await intakeObject({ key: leased.key }, intakeDeps());
    await intakeObject({ key: broken.key }, intakeDeps());
    const claim = await claimTask(worker, { taskId: leased.task.id, leaseSeconds: 30 });
    if (!claim.claimed) throw new Error('claim failed');
    engine.failWith = () => new UnreadablePageError('unreadable');

    // Act
    const renewed = await renewLease(worker, { taskId: leased.task.id, leaseToken: claim.leaseToken, leaseSeconds: 30 });
    const released = await releaseLease(worker, { taskId: leased.task.id, leaseToken: claim.leaseToken });
    const messages = await jobs.receive({ maxMessages: 10, visibilityTimeoutSeconds: 30 });
    const outcome = await newWorker().handle(messages.find((m) => (m.body as { taskId: string }).taskId === broken.task.id)!);

    // Assess
    expect(renewed.renewed).toBe(true);
    expect(released).toBe(true);
    expect((await findTaskById(admin, leased.task.id))).toMatchObject({ leaseToken: null, attempts: 0 });
    expect(outcome).toBe('failed');
    expect(await findTaskById(admin, broken.task.id)).toMatchObject({ status: 'failed', errorCode: 'corrupt_document' });
  });

  it('lets untxt_worker fail abandoned tasks: the DLQ consumer after an expired lease, the worker when attempts are used up', async () => {
    // Prepare: two tasks claimed by a worker that died, their leases run out.
    const dead = await newTask();
    const exhausted = await newTask({ maxAttempts: 1 });
    for (const { key, task } of [dead, exhausted]) {
      await intakeObject({ key }, intakeDeps());
      await claimTask(worker, { taskId: task.id, leaseSeconds: 30 });
      await admin.query(`UPDATE tasks SET lease_until = now() - interval '1 second' WHERE id = $1`, [task.id]);
    }
    const messages = await jobs.receive({ maxMessages: 10, visibilityTimeoutSeconds: 30 });
    const exhaustedJob = messages.find((m) => (m.body as { taskId: string }).taskId === exhausted.task.id)!;

    // Act
    const dlq = await handleDeadJob({ version: 1, taskId: dead.task.id }, { db: worker, events: bus, clock: systemClock, logger: silentLogger });
    const workerOutcome = await newWorker().handle(exhaustedJob);

    // Assess
    expect([dlq, workerOutcome]).toEqual(['failed', 'failed']);
    expect(await findTaskById(admin, dead.task.id)).toMatchObject({ status: 'failed', errorCode: 'processing_failed' });
    expect(await findTaskById(admin, exhausted.task.id)).toMatchObject({ status: 'failed', errorCode: 'attempts_exhausted' });
  });

  it('lets untxt_worker check the daily page quota under the per-user lock: of two uploads taken in at once that fit only alone, one is queued', async () => {
    // Prepare: a user of its own, whose quota no other test uses.
    const owner = (await createUser(api, { email: `quota-${randomUUID()}@example.com`, passwordHash: 'x' })).id;
    const keys = [(await newTask({ ownerId: owner })).key, (await newTask({ ownerId: owner })).key];
    const deps = intakeDepsOn({ db: worker, objects, jobs, events: bus }, { limits: { ...DEFAULT_INTAKE_LIMITS, maxPagesPerDay: 5 } });

    // Act: 3 pages each against a limit of 5.
    const outcomes = await Promise.all(keys.map((key) => intakeObject({ key }, deps)));

    // Assess
    expect(outcomes.sort()).toEqual(['failed', 'queued']);
    const { rows } = await admin.query<{ error_code: string | null }>('SELECT error_code FROM tasks WHERE owner_id = $1 ORDER BY error_code', [owner]);
    expect(rows.map((r) => r.error_code)).toEqual(['quota_exceeded', null]);
  });

  it('lets untxt_worker sweep: re-send a stale job, expire an upload, take in a late one', async () => {
    // Prepare
    const stale = await newTask();
    await intakeObject({ key: stale.key }, intakeDeps());
    await jobs.receive({ maxMessages: 10 }); // the first job is lost
    const expired = await newTask({ upload: false });
    const late = await newTask();
    await age(stale.task.id, 11);
    await age(expired.task.id, 21);
    await age(late.task.id, 21);
    const deps = intakeDeps();

    // Act
    const report = await sweep({ ...deps, logger: silentLogger, intake: (key) => intakeObject({ key }, deps) });

    // Assess
    expect(report).toEqual({ resent: 1, expired: 1, intaken: 1, errors: 0 });
    expect(await findTaskById(admin, expired.task.id)).toMatchObject({ status: 'failed', errorCode: 'upload_expired' });
    expect((await findTaskById(admin, late.task.id))?.status).toBe('queued');
  });
});
