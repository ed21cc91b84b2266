import fc from 'fast-check';
import { TASK_STATUSES } from '../../src/domain/task';
import { taskStatusEventDetailSchema } from '../../src/ports/event-bus';
import {
  encodeFrame,
  isNewerStatus,
  MAX_FRAME_BYTES,
  MessageTooLargeError,
  taskStatusMessage,
  taskStatusMessageSchema,
  type TaskStatusMessage,
} from '../../src/realtime/messages';
import { taskDetail } from './support/realtime';

/** Any detail the event schema accepts, including the largest values each field allows. */
const validDetail = fc
  .record(
    {
      version: fc.constant(1 as const),
      seq: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
      taskId: fc.uuid({ version: 4 }),
      userId: fc.uuid({ version: 4 }),
      status: fc.constantFrom(...TASK_STATUSES),
      previousStatus: fc.option(fc.constantFrom(...TASK_STATUSES), { nil: null }),
      pagesDone: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
      pageCount: fc.option(fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)), { nil: null }),
      // Up to 64 characters, any of them up to 4 UTF-8 bytes and some escaped by JSON.
      errorCode: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 }).filter((s) => s.length <= 64),
      occurredAt: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
    },
    { requiredKeys: ['version', 'seq', 'taskId', 'userId', 'status', 'previousStatus', 'pagesDone', 'pageCount', 'occurredAt'] },
  )
  .filter((detail) => taskStatusEventDetailSchema.safeParse(detail).success);

describe('the task status message', () => {
  it('stays under the 32 KB frame and holds exactly the contract\'s fields for every valid event', () => {
    fc.assert(
      fc.property(validDetail, (raw) => {
        // Prepare
        const detail = taskStatusEventDetailSchema.parse(raw);

        // Act
        const frame = encodeFrame(taskStatusMessage(detail));

        // Assess
        expect(Buffer.byteLength(frame, 'utf8')).toBeLessThan(MAX_FRAME_BYTES);
        // Strict: a field beyond the contract fails the parse.
        const message = taskStatusMessageSchema.parse(JSON.parse(frame));
        expect(message.type).toBe('task.status');
        expect(message.at).toBe(detail.occurredAt);
        expect(message.seq).toBe(detail.seq);
        expect(message.taskId).toBe(detail.taskId);
        expect(message.status).toBe(detail.status);
        expect(message.pagesDone).toBe(detail.pagesDone);
        expect(message.pageCount).toBe(detail.pageCount);
        expect(message.errorCode).toBe(detail.errorCode);
        expect('errorCode' in message).toBe(detail.errorCode !== undefined);
        // The owner, the previous status and the event's own names never reach a client.
        for (const field of ['userId', 'previousStatus', 'occurredAt', 'version']) expect(message).not.toHaveProperty(field);
      }),
      { numRuns: 500 },
    );
  });

  it('is refused rather than sent when it would exceed the frame', () => {
    // Prepare
    const oversized = { ...taskStatusMessage(taskDetail()), errorCode: 'x'.repeat(MAX_FRAME_BYTES) } as TaskStatusMessage;

    // Act
    const encode = () => encodeFrame(oversized);

    // Assess
    expect(encode).toThrow(MessageTooLargeError);
  });
});

describe('the client\'s seq rule', () => {
  const at = (seq: number, pagesDone: number, status: TaskStatusMessage['status'] = 'processing') => ({ seq, pagesDone, status });

  it.each([
    ['the first message of a task', undefined, at(5, 0), true],
    ['a higher seq', at(5, 9), at(6, 0, 'completed'), true],
    ['a lower seq (late)', at(6, 0, 'completed'), at(5, 9), false],
    ['an equal seq whose pagesDone grew (progress)', at(5, 1), at(5, 2), true],
    ['an equal seq with the same pagesDone (a duplicate)', at(5, 2), at(5, 2), false],
    ['an equal seq whose pagesDone fell (an older progress)', at(5, 2), at(5, 1), false],
    ['an equal seq with another status', at(5, 0, 'processing'), at(5, 0, 'failed'), true],
  ])('judges %s: %j then %j → newer is %s', (_case, last, next, expected) => {
    // Act
    const newer = isNewerStatus(last, next);

    // Assess
    expect(newer).toBe(expected);
  });

  it('ends on the same state whatever order and duplicates the messages arrive in', () => {
    // Prepare: one task's messages as the pipeline emits them.
    const emitted = [at(1, 0, 'queued'), at(2, 0), at(2, 1), at(2, 3), at(3, 3, 'completed')];
    const shuffledWithDuplicates = fc.array(fc.constantFrom(...emitted), { minLength: 0, maxLength: 10 }).chain((extra) => fc.shuffledSubarray([...emitted, ...extra], { minLength: emitted.length + extra.length }));

    fc.assert(
      fc.property(shuffledWithDuplicates, (arrivals) => {
        // Act
        let last: ReturnType<typeof at> | undefined;
        for (const message of arrivals) if (isNewerStatus(last, message)) last = message;

        // Assess
        expect(last).toEqual(at(3, 3, 'completed'));
      }),
    );
  });
});
