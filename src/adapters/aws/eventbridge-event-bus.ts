import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  TASK_EVENT_SOURCE,
  TASK_STATUS_CHANGED,
  taskStatusEventDetailSchema,
  type EventBus,
  type TaskStatusEventDetail,
} from '../../ports/event-bus';

export interface EventBridgeEventBusOptions {
  client: EventBridgeClient;
  eventBusName: string;
  /** Attempts for an entry that EventBridge reports as failed (PutEvents is partial-success). */
  maxAttempts?: number;
  /** Base of the exponential backoff between attempts. */
  retryDelayMs?: number;
}

export class EventPublishError extends Error {
  constructor(readonly errorCode: string) {
    super(`EventBridge refused the event (${errorCode})`);
    this.name = 'EventPublishError';
  }
}

/** Entry errors worth another try; anything else (e.g. a malformed entry) will fail again. */
const TRANSIENT_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure', 'InternalException']);

export class EventBridgeEventBus implements EventBus {
  private readonly client: EventBridgeClient;
  private readonly eventBusName: string;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;

  constructor(options: EventBridgeEventBusOptions) {
    this.client = options.client;
    this.eventBusName = options.eventBusName;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 100;
  }

  async publish(detail: TaskStatusEventDetail): Promise<void> {
    // Parsed on the way out too: a bad event would otherwise only fail in the notifier.
    const parsed = taskStatusEventDetailSchema.parse(detail);
    const entry: PutEventsRequestEntry = {
      EventBusName: this.eventBusName,
      Source: TASK_EVENT_SOURCE,
      DetailType: TASK_STATUS_CHANGED,
      Detail: JSON.stringify(parsed),
      Time: new Date(parsed.occurredAt),
    };
    for (let attempt = 1; ; attempt += 1) {
      const output = await this.client.send(new PutEventsCommand({ Entries: [entry] }));
      // The call succeeds even when the entry does not: FailedEntryCount is the only signal.
      if (!output.FailedEntryCount) return;
      const errorCode = output.Entries?.[0]?.ErrorCode ?? 'Unknown';
      if (attempt >= this.maxAttempts || !TRANSIENT_ENTRY_ERRORS.has(errorCode)) throw new EventPublishError(errorCode);
      await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs * 2 ** (attempt - 1)));
    }
  }
}
