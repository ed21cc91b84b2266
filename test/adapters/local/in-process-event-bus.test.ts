import { InProcessEventBus } from '../../../src/adapters/local/in-process-event-bus';
import type { TaskStatusEventDetail } from '../../../src/ports/event-bus';

const EVENT: TaskStatusEventDetail = {
  version: 1,
  seq: 7,
  taskId: '7d3f5c1e-2b4a-4c6d-8e9f-0a1b2c3d4e5f',
  userId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  status: 'queued',
  previousStatus: 'awaiting_upload',
  pagesDone: 0,
  pageCount: 3,
  occurredAt: '2026-01-01T00:00:00.000Z',
};

describe('the in-process event bus', () => {
  it('delivers a published event to every subscriber', async () => {
    // Prepare
    const bus = new InProcessEventBus();
    const seen: Array<[string, number]> = [];
    bus.subscribe((detail) => void seen.push(['a', detail.seq]));
    bus.subscribe((detail) => void seen.push(['b', detail.seq]));

    // Act
    await bus.publish(EVENT);
    await bus.idle();

    // Assess
    expect(seen.sort()).toEqual([
      ['a', 7],
      ['b', 7],
    ]);
  });

  it('keeps a failing subscriber from breaking the publisher or the other subscribers', async () => {
    // Prepare
    const bus = new InProcessEventBus();
    const seen: number[] = [];
    bus.subscribe(() => {
      throw new Error('synchronous failure');
    });
    bus.subscribe(async () => {
      throw new Error('asynchronous failure');
    });
    bus.subscribe((detail) => void seen.push(detail.seq));

    // Act
    const publishing = bus.publish(EVENT);

    // Assess
    await expect(publishing).resolves.toBeUndefined();
    await bus.idle();
    expect(seen).toEqual([7]);
  });

  it('does not wait for a slow subscriber before returning to the publisher', async () => {
    // Prepare
    const bus = new InProcessEventBus();
    let release: () => void = () => undefined;
    let finished = false;
    bus.subscribe(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      finished = true;
    });

    // Act
    await bus.publish(EVENT);

    // Assess
    expect(finished).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await bus.idle();
    expect(finished).toBe(true);
  });

  it('gives each subscriber its own copy of the event', async () => {
    // Prepare
    const bus = new InProcessEventBus();
    const seen: TaskStatusEventDetail[] = [];
    bus.subscribe((detail) => {
      detail.pagesDone = 99;
    });
    bus.subscribe((detail) => void seen.push(detail));

    // Act
    await bus.publish(EVENT);
    await bus.idle();

    // Assess
    expect(seen[0]?.pagesDone).toBe(0);
  });

  it('stops delivering to a subscriber that unsubscribed', async () => {
    // Prepare
    const bus = new InProcessEventBus();
    const seen: number[] = [];
    const unsubscribe = bus.subscribe((detail) => void seen.push(detail.seq));
    unsubscribe();

    // Act
    await bus.publish(EVENT);
    await bus.idle();

    // Assess
    expect(seen).toEqual([]);
    expect(bus.subscriberCount).toBe(0);
  });

  it('refuses an event that does not match the schema, such as one carrying a file name', async () => {
    // Prepare
    const bus = new InProcessEventBus();
    const withFileName = { ...EVENT, filename: 'patient-record.pdf' } as TaskStatusEventDetail;

    // Act
    const publishing = bus.publish(withFileName);

    // Assess
    await expect(publishing).rejects.toThrow();
  });
});
