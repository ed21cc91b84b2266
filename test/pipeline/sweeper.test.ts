import { systemClock } from '../../src/adapters/clock';
import { getTaskHistory } from '../../src/db/repositories/tasks';
import { intakeObject } from '../../src/pipeline/intake';
import { sweep, type SweeperDeps } from '../../src/pipeline/sweeper';
import { textPdf } from './support/documents';
import { ageTask, pipelineHarness, silentLogger, type PipelineHarness } from './support/harness';

/** Defaults: queued stale after 10 minutes, awaiting_upload after 5 (URL) + 15 (grace) minutes. */
const QUEUED_STALE_MIN = 10;
const UPLOAD_EXPIRED_MIN = 20;

describe('the sweeper', () => {
  let h: PipelineHarness;
  let pdf: Uint8Array;

  beforeAll(async () => {
    pdf = await textPdf([['one page']]);
  });
  beforeEach(async () => {
    h = await pipelineHarness();
  });
  afterEach(() => h.dispose());

  function deps(overrides: Partial<SweeperDeps> = {}): SweeperDeps {
    const intakeDeps = h.intakeDeps();
    return { ...intakeDeps, logger: silentLogger, clock: systemClock, intake: (key) => intakeObject({ key }, intakeDeps), ...overrides };
  }

  const age = (taskId: string, minutes: number) => ageTask(h.database.db, taskId, minutes);

  async function queuedTask(): Promise<string> {
    const { task, key } = await h.createTask(pdf);
    await intakeObject({ key }, h.intakeDeps());
    // Drop the job intake sent: the sweeper's re-send is what the tests look for.
    const received = await h.jobs.receive({ maxMessages: 10 });
    for (const m of received) await h.jobs.delete(m.receiptHandle);
    return task.id;
  }

  async function jobTaskIds(): Promise<string[]> {
    const received = await h.jobs.receive({ maxMessages: 10 });
    return received.map((m) => (m.body as { taskId: string }).taskId).sort();
  }

  it('re-sends the job of a task queued for more than 10 minutes and leaves a younger one alone', async () => {
    // Prepare
    const stale = await queuedTask();
    const young = await queuedTask();
    await age(stale, QUEUED_STALE_MIN + 1);
    await age(young, QUEUED_STALE_MIN - 1);

    // Act
    const report = await sweep(deps());

    // Assess
    expect(report).toEqual({ resent: 1, expired: 0, intaken: 0, errors: 0 });
    expect(await jobTaskIds()).toEqual([stale]);
    expect((await h.task(young)).status).toBe('queued');
  });

  it('publishes the queued event of a stale queued task again, with the seq of its move to queued', async () => {
    // Prepare: as if intake's message had given up after the transition, before the event.
    const stale = await queuedTask();
    h.bus.events.length = 0;
    await age(stale, QUEUED_STALE_MIN + 1);

    // Act
    await sweep(deps());

    // Assess
    const queuedRow = (await getTaskHistory(h.database.db, stale)).find((r) => r.toStatus === 'queued')!;
    expect(h.bus.events).toEqual([expect.objectContaining({ taskId: stale, status: 'queued', seq: queuedRow.id })]);
    expect(await jobTaskIds()).toEqual([stale]);
  });

  it('fails a task awaiting its upload past the URL expiry plus 15 minutes with upload_expired and one event', async () => {
    // Prepare
    const { task } = await h.createTask(pdf, { upload: false });
    await age(task.id, UPLOAD_EXPIRED_MIN + 1);

    // Act
    const report = await sweep(deps());

    // Assess
    expect(report).toEqual({ resent: 0, expired: 1, intaken: 0, errors: 0 });
    const failed = await h.task(task.id);
    expect([failed.status, failed.errorCode]).toEqual(['failed', 'upload_expired']);
    expect(failed.errorMessage).toMatch(/upload link expired/);
    expect(h.bus.events.filter((e) => e.taskId === task.id)).toEqual([
      expect.objectContaining({ status: 'failed', previousStatus: 'awaiting_upload', errorCode: 'upload_expired' }),
    ]);
  });

  it('runs intake on a stale awaiting_upload task whose object does exist, queueing it instead of failing it', async () => {
    // Prepare: the upload arrived, but its intake message was lost.
    const { task } = await h.createTask(pdf);
    await age(task.id, UPLOAD_EXPIRED_MIN + 1);

    // Act
    const report = await sweep(deps());

    // Assess
    expect(report).toEqual({ resent: 0, expired: 0, intaken: 1, errors: 0 });
    expect((await h.task(task.id)).status).toBe('queued');
    expect(await jobTaskIds()).toEqual([task.id]);
  });

  it('leaves an awaiting_upload task younger than the URL expiry plus 15 minutes untouched', async () => {
    // Prepare
    const { task } = await h.createTask(pdf, { upload: false });
    await age(task.id, UPLOAD_EXPIRED_MIN - 1);

    // Act
    const report = await sweep(deps());

    // Assess
    expect(report).toEqual({ resent: 0, expired: 0, intaken: 0, errors: 0 });
    expect((await h.task(task.id)).status).toBe('awaiting_upload');
    expect(h.bus.events).toEqual([]);
  });

  it('changes nothing on a second sweep after an expiry', async () => {
    // Prepare
    const { task } = await h.createTask(pdf, { upload: false });
    await age(task.id, UPLOAD_EXPIRED_MIN + 1);
    await sweep(deps());
    const historyBefore = await getTaskHistory(h.database.db, task.id);
    const eventsBefore = h.bus.events.length;

    // Act
    const report = await sweep(deps());

    // Assess
    expect(report).toEqual({ resent: 0, expired: 0, intaken: 0, errors: 0 });
    expect(await getTaskHistory(h.database.db, task.id)).toEqual(historyBefore);
    expect(h.bus.events).toHaveLength(eventsBefore);
  });

  it('keeps sweeping past a task whose handling fails and reports the failure', async () => {
    // Prepare: two expired uploads; looking up the first one's object fails.
    const broken = await h.createTask(pdf, { upload: false });
    const fine = await h.createTask(pdf, { upload: false });
    await age(broken.task.id, UPLOAD_EXPIRED_MIN + 2);
    await age(fine.task.id, UPLOAD_EXPIRED_MIN + 1);
    const objects = Object.create(h.objects) as typeof h.objects;
    objects.getAttributes = async (key) => {
      if (key === broken.key) throw new Error('S3 is unavailable');
      return h.objects.getAttributes(key);
    };
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (message: string) => void errors.push(message) };

    // Act
    const report = await sweep(deps({ objects, logger }));

    // Assess
    expect(report).toEqual({ resent: 0, expired: 1, intaken: 0, errors: 1 });
    expect((await h.task(broken.task.id)).status).toBe('awaiting_upload');
    expect((await h.task(fine.task.id)).status).toBe('failed');
    expect(errors).toEqual(['Sweeping a task failed']);
  });
});
