import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { EventBridgeEventBus, EventPublishError } from '../../../src/adapters/aws/eventbridge-event-bus';
import type { TaskStatusEventDetail } from '../../../src/ports/event-bus';

const eventBridge = mockClient(EventBridgeClient);

const EVENT: TaskStatusEventDetail = {
  version: 1,
  seq: 42,
  taskId: '7d3f5c1e-2b4a-4c6d-8e9f-0a1b2c3d4e5f',
  userId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  status: 'failed',
  previousStatus: 'processing',
  pagesDone: 2,
  pageCount: 5,
  errorCode: 'page_limit',
  occurredAt: '2026-01-01T10:00:00.000Z',
};

function bus(): EventBridgeEventBus {
  return new EventBridgeEventBus({ client: new EventBridgeClient({ region: 'us-east-1' }), eventBusName: 'untxt', retryDelayMs: 1 });
}

describe('the EventBridge event bus', () => {
  beforeEach(() => {
    eventBridge.reset();
  });

  it('publishes a task status change on the named bus with the agreed source and detail type', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });

    // Act
    await bus().publish(EVENT);

    // Assess
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'untxt',
          Source: 'untxt.tasks',
          DetailType: 'Task Status Changed',
          Detail: JSON.stringify(EVENT),
          Time: new Date(EVENT.occurredAt),
        },
      ],
    });
  });

  it('retries an entry EventBridge throttled, and succeeds when it is accepted', async () => {
    // Prepare
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });

    // Act
    await bus().publish(EVENT);

    // Assess
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 2);
  });

  it('fails when EventBridge keeps refusing the entry, although the call itself succeeded', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });

    // Act
    const publishing = bus().publish(EVENT);

    // Assess
    await expect(publishing).rejects.toBeInstanceOf(EventPublishError);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 3);
  });

  it('does not retry an entry refused for a reason that would not change', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException' }] });

    // Act
    const publishing = bus().publish(EVENT);

    // Assess
    await expect(publishing).rejects.toThrow(/AccessDeniedException/);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  it('refuses to publish an event that breaks the schema', async () => {
    // Prepare
    const bad = { ...EVENT, taskId: 'not-a-uuid' };

    // Act
    const publishing = bus().publish(bad);

    // Assess
    await expect(publishing).rejects.toThrow();
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });
});
