import sharp from 'sharp';
import { claimTask, deleteTask, getTaskHistory, findTaskById } from '../../src/db/repositories/tasks';
import { systemClock } from '../../src/adapters/clock';
import { PageFailedError, UnreadablePageError } from '../../src/ocr/engine';
import { handleDeadJob } from '../../src/pipeline/dead-letters';
import { intakeObject } from '../../src/pipeline/intake';
import { Worker, type WorkerOptions } from '../../inference-container/src/worker';
import { pipelineHarness, silentLogger, type PipelineHarness } from '../pipeline/support/harness';
import { textPdf } from '../pipeline/support/documents';
import { queuedDocument, receiveJob } from './support/jobs';
import { StubEngine } from './support/stub-engine';

const FAST: Partial<WorkerOptions> = { leaseSeconds: 1, heartbeatSeconds: 60, pollWaitSeconds: 0, retryDelaySeconds: 0, progressIntervalMs: 0, raster: { dpi: 20 } };

describe('the worker', () => {
  let h: PipelineHarness;
  let engine: StubEngine;
  const worker = (options: Partial<WorkerOptions> = {}) =>
    new Worker({ db: h.database.db, objects: h.objects, jobs: h.jobs, events: h.bus, engine, clock: systemClock, logger: silentLogger }, { ...FAST, ...options });

  const queuedTask = async (pages: number, options: { maxAttempts?: number } = {}) =>
    queuedDocument(h, await textPdf(Array.from({ length: pages }, (_, i) => [`page ${i + 1}`])), options);
  const receiveOne = () => receiveJob(h);

  beforeEach(async () => {
    h = await pipelineHarness({ maxReceiveCount: 4 });
    engine = new StubEngine();
  });
  afterEach(() => h.dispose());

  it('completes a task: checkpoints each page with its preview, writes html, text and json, records one result and deletes the message', async () => {
    // Prepare
    const task = await queuedTask(3);

    // Act
    const outcome = await worker().handle(await receiveOne());

    // Assess
    expect(outcome).toBe('completed');
    const done = await h.task(task.id);
    expect([done.status, done.pagesDone, done.pageCount]).toEqual(['completed', 3, 3]);
    const keys = h.objects.keys(task.resultsPrefix);
    expect(keys.filter((k) => k.includes('/pages/')).sort()).toEqual(
      [1, 2, 3].flatMap((n) => [`${task.resultsPrefix}pages/${n}.json`, `${task.resultsPrefix}pages/${n}.webp`]).sort(),
    );
    expect(keys.filter((k) => /\.(html|txt|json)$/.test(k) && !k.includes('/pages/'))).toHaveLength(3);
    const text = keys.find((k) => k.endsWith('.txt'))!;
    expect(Buffer.from(h.objects.objects.get(text)!.body).toString()).toBe('page 1\n\npage 2\n\npage 3');
    expect(await h.jobs.approximateDepth()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(h.bus.statuses(task.id)).toEqual(expect.arrayContaining(['queued', 'processing', 'completed']));
    expect(h.bus.statuses(task.id).filter((s) => s === 'completed')).toHaveLength(1);
  });

  it('stores no page previews when an operator turns them off, and still checkpoints every page', async () => {
    // Prepare
    const task = await queuedTask(2);

    // Act
    const outcome = await worker({ pagePreviews: false }).handle(await receiveOne());

    // Assess
    expect(outcome).toBe('completed');
    const pageKeys = h.objects.keys(task.resultsPrefix).filter((k) => k.includes('/pages/'));
    expect(pageKeys.sort()).toEqual([`${task.resultsPrefix}pages/1.json`, `${task.resultsPrefix}pages/2.json`]);
  });

  it('deletes a duplicate job of a finished task without a second result', async () => {
    // Prepare
    const task = await queuedTask(1);
    await h.jobs.send({ version: 1, taskId: task.id });
    const w = worker();
    await w.handle(await receiveOne());

    // Act
    const second = await w.handle(await receiveOne());

    // Assess
    expect(second).toBe('deleted_message');
    const { rows } = await h.database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM results WHERE task_id = $1', [task.id]);
    expect(rows[0]!.n).toBe(1);
    expect((await getTaskHistory(h.database.db, task.id)).map((r) => r.toStatus)).toEqual(['awaiting_upload', 'queued', 'processing', 'completed']);
  });

  it('hides the job of a task another worker holds until its lease ends, without deleting it', async () => {
    // Prepare
    const task = await queuedTask(1);
    await claimTask(h.database.db, { taskId: task.id, leaseSeconds: 60 });

    // Act
    const outcome = await worker().handle(await receiveOne());

    // Assess
    expect(outcome).toBe('deferred');
    const depth = await h.jobs.approximateDepth();
    expect(depth.inFlight).toBe(1);
  });

  it('re-claims the task of a worker killed mid-job after its lease and resumes from the last checkpoint, with one result', async () => {
    // Prepare: the first worker dies on page 3 (it never releases anything).
    const task = await queuedTask(4);
    engine.failWith = (page) => (page === 3 ? new Error('killed') : undefined);
    const first = worker({ maxPagesInFlight: 1, retryDelaySeconds: 0 });
    const firstMessage = await receiveOne();
    await first.handle(firstMessage);
    engine.calls = [];
    engine.failWith = undefined;
    await new Promise((r) => setTimeout(r, 1100)); // the 1 s lease and visibility run out

    // Act
    const outcome = await worker().handle(await receiveOne());

    // Assess
    expect(outcome).toBe('completed');
    expect(engine.calls).toEqual([3]); // pages 1, 2 and 4 were checkpointed by the first attempt
    const done = await h.task(task.id);
    expect([done.status, done.attempts]).toEqual(['completed', 2]);
  });

  it('fails at once on a permanent error, and deletes the message', async () => {
    // Prepare
    const task = await queuedTask(2);
    engine.failWith = () => new UnreadablePageError('bad');

    // Act
    const outcome = await worker().handle(await receiveOne());

    // Assess
    expect(outcome).toBe('failed');
    expect((await h.task(task.id)).errorCode).toBe('corrupt_document');
    expect((await h.jobs.approximateDepth()).inFlight).toBe(0);
  });

  it.each([
    ['an upload overwritten after intake', 'checksum_mismatch', {}],
    ['a page above the pixel limit', 'image_too_large', { maxImagePixels: 10_000 }],
    ['more pages than the limit', 'too_many_pages', { maxPages: 1 }],
  ] as const)('re-checks the document before any OCR and fails %s permanently with %s', async (_name, code, options) => {
    // Prepare
    const png = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#fff' } }).png().toBuffer();
    const { task, key } = code === 'too_many_pages' ? await h.createTask(await textPdf([['a'], ['b']])) : await h.createTask(png, { contentType: 'image/png' });
    await intakeObject({ key }, h.intakeDeps());
    if (code === 'checksum_mismatch') {
      const other = Buffer.from(png); // same size, one byte changed
      other[other.length - 1]! ^= 0xff;
      await h.objects.put({ key, body: other, contentType: 'image/png' });
    }

    // Act
    const outcome = await worker(options).handle(await receiveOne());

    // Assess
    expect(outcome).toBe('failed');
    const failed = await h.task(task.id);
    expect([failed.status, failed.errorCode]).toEqual(['failed', code]);
    expect(failed.errorMessage).toMatch(/^The /);
    expect(engine.calls).toEqual([]);
    expect((await h.jobs.approximateDepth()).inFlight).toBe(0);
  });

  it('keeps the abort listeners on any one signal below the warning limit while many pages wait for the pool', async () => {
    // Prepare: far more pages than slots, so most of them wait for the pool. Node warns
    // (MaxListenersExceededWarning) past 10 listeners on one signal; count them live.
    const live = new Map<EventTarget, number>();
    let most = 0;
    const original = { add: EventTarget.prototype.addEventListener, remove: EventTarget.prototype.removeEventListener };
    const add = jest.spyOn(EventTarget.prototype, 'addEventListener');
    const remove = jest.spyOn(EventTarget.prototype, 'removeEventListener');
    add.mockImplementation(function (this: EventTarget, type, ...rest) {
      if (type === 'abort') most = Math.max(most, live.set(this, (live.get(this) ?? 0) + 1).get(this)!);
      return original.add.call(this, type, ...rest);
    });
    remove.mockImplementation(function (this: EventTarget, type, ...rest) {
      if (type === 'abort') live.set(this, Math.max(0, (live.get(this) ?? 0) - 1));
      return original.remove.call(this, type, ...rest);
    });
    await queuedTask(40);
    const w = worker({ maxPagesInFlight: 2, leaseSeconds: 30 });

    // Act
    let outcome: string;
    try {
      outcome = await w.handle(await receiveOne());
    } finally {
      add.mockRestore();
      remove.mockRestore();
    }

    // Assess
    expect(outcome).toBe('completed');
    expect(engine.calls).toHaveLength(40);
    expect(most).toBeLessThanOrEqual(10);
  });

  it('retries a retryable error until the last attempt, then fails the task', async () => {
    // Prepare
    const task = await queuedTask(1, { maxAttempts: 2 });
    engine.failWith = () => new Error('model server unavailable');
    const w = worker();

    // Act
    const first = await w.handle(await receiveOne());
    await new Promise((r) => setTimeout(r, 1100));
    const second = await w.handle(await receiveOne());

    // Assess
    expect([first, second]).toEqual(['retry', 'failed']);
    const failed = await h.task(task.id);
    expect([failed.status, failed.errorCode, failed.attempts]).toEqual(['failed', 'processing_error', 2]);
  });

  it('sends a job that kills every worker to the DLQ, where its task is failed', async () => {
    // Prepare: every receive ends with the worker dying mid-job (the message is never settled).
    const task = await queuedTask(1, { maxAttempts: 10 });
    for (let i = 0; i < 4; i += 1) {
      const message = await receiveOne();
      await claimTask(h.database.db, { taskId: (message.body as { taskId: string }).taskId, leaseSeconds: 1 });
      await new Promise((r) => setTimeout(r, 1100));
    }
    expect(await h.jobs.receive()).toEqual([]); // the 5th receive moved it to the DLQ
    const [dead] = await h.deadJobs.receive();

    // Act
    const outcome = await handleDeadJob(dead!.body, { db: h.database.db, events: h.bus, clock: systemClock, logger: silentLogger });

    // Assess
    expect(outcome).toBe('failed');
    expect((await findTaskById(h.database.db, task.id))!.errorCode).toBe('processing_failed');
  });

  it('erases what in-flight pages wrote after the task was deleted mid-job, writes nothing once the lease is lost, and deletes the message', async () => {
    // Prepare: page 1 finishes after DELETE erased the prefix and is written before the heartbeat
    // notices (the bug: its checkpoint and preview stayed); pages 2 and 3 finish after it noticed.
    const task = await queuedTask(3);
    let deleted!: () => void;
    const afterDelete = new Promise<void>((r) => (deleted = r));
    let leaseGone!: () => void;
    const afterLeaseLoss = new Promise<void>((r) => (leaseGone = r));
    let bothInEngine!: () => void;
    const inEngine = new Promise<void>((r) => (bothInEngine = r));
    let entered = 0;
    const answer = engine.recognize.bind(engine);
    engine.recognize = async (image) => {
      if ((entered += 1) === 2) bothInEngine();
      await (image.page === 1 ? afterDelete : afterLeaseLoss);
      return answer(image);
    };
    const puts: string[] = [];
    let pageOneWritten!: () => void;
    const afterPageOne = new Promise<void>((r) => (pageOneWritten = r));
    const put = h.objects.put.bind(h.objects);
    jest.spyOn(h.objects, 'put').mockImplementation(async (input) => {
      puts.push(input.key.slice(task.resultsPrefix.length));
      const written = await put(input);
      if (input.key.endsWith('pages/1.json')) pageOneWritten();
      return written;
    });
    // Renewals wait for page 1's checkpoint, so the heartbeat notices the deletion only after it.
    const renewals: number[] = [];
    const db = h.database.db;
    const query = (async (sql: string, params?: unknown[]) => {
      const renewal = /^\s*UPDATE tasks SET lease_until = now\(\) \+ make_interval/.test(sql);
      if (renewal) await afterPageOne;
      const result = await db.query(sql, params);
      if (renewal) renewals.push(result.rows.length);
      return result;
    }) as typeof db.query;
    const watched = { kind: db.kind, query, transaction: db.transaction.bind(db), close: db.close.bind(db) };
    const w = new Worker(
      { db: watched, objects: h.objects, jobs: h.jobs, events: h.bus, engine, clock: systemClock, logger: silentLogger },
      { ...FAST, maxPagesInFlight: 2, leaseSeconds: 30, heartbeatSeconds: 0.05 },
    );
    const running = w.handle(await receiveOne());
    await inEngine;

    // Act: DELETE as the API does it (tombstone, then every version under the prefix erased).
    const tombstone = await deleteTask(db, { ownerId: h.userId, taskId: task.id });
    await h.objects.deleteAllVersions({ prefix: tombstone!.resultsPrefix });
    deleted();
    while (!renewals.includes(0)) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setImmediate(r));
    leaseGone();
    const outcome = await running;

    // Assess
    expect(puts).toEqual(expect.arrayContaining(['pages/1.webp', 'pages/1.json']));
    expect(puts.filter((key) => !key.startsWith('pages/1.'))).toEqual([]);
    expect(h.objects.keys(task.resultsPrefix)).toEqual([]);
    expect(outcome).toBe('deleted_message');
    expect(await h.jobs.approximateDepth()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect((await h.task(task.id)).status).toBe('deleted');
  });

  it('releases the lease and makes the message visible again when a page outlasts the drain, aborting the engine, before stop resolves', async () => {
    // Prepare: an engine that never finishes a page, whatever it is told.
    const task = await queuedTask(2);
    let inEngine!: (signal: AbortSignal | undefined) => void;
    const engineSignal = new Promise<AbortSignal | undefined>((r) => (inEngine = r));
    engine.recognize = (_image, options) => {
      inEngine(options?.signal);
      return new Promise<never>(() => undefined);
    };
    const w = worker({ maxPagesInFlight: 1, leaseSeconds: 30 });
    void w.handle(await receiveOne());
    const signal = await engineSignal;

    // Act
    await w.stop(50);

    // Assess
    const released = await h.task(task.id);
    expect([released.status, released.attempts, released.leaseToken]).toEqual(['processing', 0, null]);
    expect(released.leaseUntil!.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await h.jobs.approximateDepth()).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    expect(signal?.aborted).toBe(true);
  });

  it('settles a job whose page ends after the drain gave its claim back without touching the task or message again', async () => {
    // Prepare: an engine that gives up its page once told to.
    const task = await queuedTask(2);
    let entered!: () => void;
    const inEngine = new Promise<void>((r) => (entered = r));
    engine.recognize = (_image, options) => {
      entered();
      return new Promise<never>((_, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal!.reason)));
    };
    const w = worker({ maxPagesInFlight: 1, leaseSeconds: 30 });
    const running = w.handle(await receiveOne());
    await inEngine;
    await w.stop(50);
    const [message] = await h.jobs.receive({ visibilityTimeoutSeconds: 30 }); // the next worker has it

    // Act
    const outcome = await running;

    // Assess
    expect(outcome).toBe('released');
    expect(message).toBeDefined();
    expect(await h.jobs.approximateDepth()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    expect((await h.task(task.id)).attempts).toBe(0);
  });

  it('releases its lease and makes the message visible again when stopped mid-job, without using an attempt', async () => {
    // Prepare
    const task = await queuedTask(3);
    let entered!: () => void;
    const inEngine = new Promise<void>((r) => (entered = r));
    const slow = engine.recognize.bind(engine);
    engine.recognize = async (image) => {
      entered();
      await new Promise((r) => setTimeout(r, 200));
      return slow(image);
    };
    const w = worker({ maxPagesInFlight: 1, leaseSeconds: 30 });
    const running = w.handle(await receiveOne());
    await inEngine;

    // Act
    await w.stop();
    const outcome = await running;

    // Assess
    expect(outcome).toBe('released');
    const released = await h.task(task.id);
    expect([released.status, released.attempts, released.leaseToken]).toEqual(['processing', 0, null]);
    expect(released.pagesDone).toBe(1); // the page in the engine finished and was checkpointed
    expect((await h.jobs.approximateDepth()).visible).toBe(1);
  });

  it('counts the attempt and keeps the message when the model server fails a page while the worker is stopping, so a page that crashes the server cannot loop its task', async () => {
    // Prepare: page 1 fails with a server failure once stop has begun; page 2, waiting for the
    // pool, is dropped by the shutdown first, so its abort is the first failure of the job.
    const task = await queuedTask(3);
    let entered!: () => void;
    const inEngine = new Promise<void>((r) => (entered = r));
    let serverDies!: () => void;
    const died = new Promise<void>((r) => (serverDies = r));
    engine.recognize = async () => {
      entered();
      await died;
      throw new PageFailedError('vllm/model', 'server_error', 1);
    };
    const w = worker({ maxPagesInFlight: 1, leaseSeconds: 30 });
    const running = w.handle(await receiveOne());
    await inEngine;

    // Act
    const stopping = w.stop();
    serverDies();
    const outcome = await running;
    await stopping;

    // Assess
    expect(outcome).toBe('retry');
    const row = await h.task(task.id);
    expect([row.status, row.attempts]).toEqual(['processing', 1]);
    const depth = await h.jobs.approximateDepth();
    expect(depth.visible + depth.inFlight + depth.delayed).toBe(1); // hidden until the lease ends, never deleted
  });
});

describe('the worker heartbeat', () => {
  it('renews the lease and the message visibility every heartbeat while a job runs', async () => {
    // Prepare
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const h = await pipelineHarness();
    try {
      const { task, key } = await h.createTask(await textPdf([['a']]));
      await intakeObject({ key }, h.intakeDeps());
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let started!: () => void;
      const inEngine = new Promise<void>((r) => (started = r));
      const engine = new StubEngine();
      const inner = engine.recognize.bind(engine);
      engine.recognize = async (image) => {
        started();
        await gate;
        return inner(image);
      };
      const visibility = jest.spyOn(h.jobs, 'changeVisibility');
      const w = new Worker(
        { db: h.database.db, objects: h.objects, jobs: h.jobs, events: h.bus, engine, clock: systemClock, logger: silentLogger },
        { ...FAST, leaseSeconds: 90, heartbeatSeconds: 30 },
      );
      const [message] = await h.jobs.receive({ visibilityTimeoutSeconds: 90 });
      const running = w.handle(message!);
      await inEngine;
      const leaseBefore = (await h.task(task.id)).leaseUntil!.getTime();

      // Act
      await jest.advanceTimersByTimeAsync(29_000);
      const beforeFirstBeat = visibility.mock.calls.length;
      await jest.advanceTimersByTimeAsync(1_000);
      await jest.advanceTimersByTimeAsync(60_000);

      // Assess
      expect(beforeFirstBeat).toBe(0);
      expect(visibility.mock.calls).toEqual([
        [message!.receiptHandle, 90],
        [message!.receiptHandle, 90],
        [message!.receiptHandle, 90],
      ]);
      expect((await h.task(task.id)).leaseUntil!.getTime()).toBeGreaterThan(leaseBefore);
      release();
      await expect(running).resolves.toBe('completed');
    } finally {
      jest.useRealTimers();
      await h.dispose();
    }
  });
});
