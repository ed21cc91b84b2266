import { ManualClock } from '../../../src/adapters/clock';
import { InMemoryJobQueue } from '../../../src/adapters/local/in-memory-job-queue';
import { StaleReceiptError } from '../../../src/ports/job-queue';

describe('the in-process job queue', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = new ManualClock();
  });

  it('hides a received message for its visibility timeout, then delivers it again with a higher receive count', async () => {
    // Prepare
    const queue = new InMemoryJobQueue({ visibilityTimeoutSeconds: 30, clock });
    await queue.send({ taskId: 't1' });
    const [first] = await queue.receive();

    // Act
    const whileHidden = await queue.receive();
    clock.advance(30_000);
    const [again] = await queue.receive();

    // Assess
    expect(first).toMatchObject({ body: { taskId: 't1' }, receiveCount: 1 });
    expect(whileHidden).toEqual([]);
    expect(again).toMatchObject({ id: first?.id, body: { taskId: 't1' }, receiveCount: 2 });
    expect(again?.receiptHandle).not.toBe(first?.receiptHandle);
  });

  it('forgets a deleted message for good', async () => {
    // Prepare
    const queue = new InMemoryJobQueue({ visibilityTimeoutSeconds: 1, clock });
    await queue.send({ taskId: 't1' });
    const [message] = await queue.receive();

    // Act
    await queue.delete(message?.receiptHandle ?? '');
    clock.advance(5_000);

    // Assess
    expect(await queue.receive()).toEqual([]);
    expect(await queue.approximateDepth()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('ignores a delete with the handle of an earlier receive', async () => {
    // Prepare
    const queue = new InMemoryJobQueue({ visibilityTimeoutSeconds: 1, clock });
    await queue.send({ taskId: 't1' });
    const [first] = await queue.receive();
    clock.advance(1_000);
    const [second] = await queue.receive();

    // Act
    await queue.delete(first?.receiptHandle ?? '');

    // Assess
    expect(await queue.approximateDepth()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    expect(second?.receiveCount).toBe(2);
  });

  it('extends visibility for the latest handle and refuses a stale one', async () => {
    // Prepare
    const queue = new InMemoryJobQueue({ visibilityTimeoutSeconds: 10, clock });
    await queue.send({ taskId: 't1' });
    const [message] = await queue.receive();

    // Act
    await queue.changeVisibility(message?.receiptHandle ?? '', 60);
    clock.advance(30_000);
    const stillHidden = await queue.receive();
    clock.advance(30_000);
    const [redelivered] = await queue.receive();

    // Assess
    expect(stillHidden).toEqual([]);
    expect(redelivered?.receiveCount).toBe(2);
    await expect(queue.changeVisibility(message?.receiptHandle ?? '', 60)).rejects.toBeInstanceOf(StaleReceiptError);
  });

  it('makes a message visible again at once when its visibility is set to zero', async () => {
    // Prepare
    const queue = new InMemoryJobQueue({ clock });
    await queue.send({ taskId: 't1' });
    const [message] = await queue.receive();

    // Act
    await queue.changeVisibility(message?.receiptHandle ?? '', 0);

    // Assess
    expect(await queue.receive()).toHaveLength(1);
  });

  it('moves a message to the dead-letter queue once it was received maxReceiveCount times', async () => {
    // Prepare
    const deadLetterQueue = new InMemoryJobQueue({ clock });
    const queue = new InMemoryJobQueue({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2, deadLetterQueue, clock });
    await queue.send({ taskId: 'poison' });
    await queue.receive();
    clock.advance(1_000);
    await queue.receive();
    clock.advance(1_000);

    // Act
    const third = await queue.receive();

    // Assess
    expect(third).toEqual([]);
    expect(await queue.approximateDepth()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    const [dead] = await deadLetterQueue.receive();
    expect(dead?.body).toEqual({ taskId: 'poison' });
  });

  it('holds a delayed message back until its delay has passed', async () => {
    // Prepare
    const queue = new InMemoryJobQueue({ clock });
    await queue.send({ taskId: 't1' }, { delaySeconds: 60 });

    // Act
    const early = await queue.receive();
    const depth = await queue.approximateDepth();
    clock.advance(60_000);
    const late = await queue.receive();

    // Assess
    expect(early).toEqual([]);
    expect(depth).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
    expect(late).toHaveLength(1);
  });

  it('receives at most maxMessages at a time, oldest first', async () => {
    // Prepare
    const queue = new InMemoryJobQueue({ clock });
    for (const n of [1, 2, 3]) await queue.send({ n });

    // Act
    const batch = await queue.receive({ maxMessages: 2 });

    // Assess
    expect(batch.map((m) => m.body)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('wakes a long poll as soon as a message is sent', async () => {
    // Prepare
    const queue = new InMemoryJobQueue();
    const started = Date.now();
    const polling = queue.receive({ waitSeconds: 10 });

    // Act
    setTimeout(() => void queue.send({ taskId: 't1' }), 50);
    const received = await polling;

    // Assess
    expect(received).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('ends a long poll with nothing when the queue closes or the caller aborts', async () => {
    // Prepare
    const queue = new InMemoryJobQueue();
    const controller = new AbortController();
    const aborted = queue.receive({ waitSeconds: 20, signal: controller.signal });
    const closed = new InMemoryJobQueue();
    const closing = closed.receive({ waitSeconds: 20 });

    // Act
    controller.abort();
    closed.close();

    // Assess
    await expect(aborted).resolves.toEqual([]);
    await expect(closing).resolves.toEqual([]);
    await expect(closed.send({})).rejects.toThrow(/closed/);
  });

  it('refuses values SQS would refuse', async () => {
    // Prepare
    const queue = new InMemoryJobQueue();

    // Act + Assess
    await expect(queue.send({}, { delaySeconds: 901 })).rejects.toThrow(RangeError);
    await expect(queue.receive({ maxMessages: 11 })).rejects.toThrow(RangeError);
    await expect(queue.receive({ waitSeconds: 21 })).rejects.toThrow(RangeError);
  });
});
