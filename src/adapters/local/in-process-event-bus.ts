import type { Logger } from '@aws-lambda-powertools/logger';
import {
  taskStatusEventDetailSchema,
  type EventBus,
  type EventSubscriptions,
  type TaskStatusEventDetail,
  type TaskStatusEventHandler,
} from '../../ports/event-bus';
import { errorSummary } from '../error-summary';

/**
 * EventBridge stand-in: publish validates and accepts the event, then each subscriber gets it
 * asynchronously and on its own, so a slow or failing subscriber (the WebSocket notifier, say)
 * never holds up or breaks the publisher (a state transition) or the other subscribers.
 * Delivery is at most once here; receivers already cope with at least once and out of order.
 */
export class InProcessEventBus implements EventBus, EventSubscriptions {
  private readonly handlers = new Set<TaskStatusEventHandler>();
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly logger?: Logger) {}

  async publish(detail: TaskStatusEventDetail): Promise<void> {
    if (this.closed) throw new Error('The event bus is closed');
    const parsed = taskStatusEventDetailSchema.parse(detail);
    for (const handler of this.handlers) this.deliver(handler, structuredClone(parsed));
  }

  subscribe(handler: TaskStatusEventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  get subscriberCount(): number {
    return this.handlers.size;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Resolves once every delivery started so far has finished (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Refuses new events and waits for deliveries in progress. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private deliver(handler: TaskStatusEventHandler, detail: TaskStatusEventDetail): void {
    const delivery = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => handler(detail))
      .catch((error: unknown) => {
        this.logger?.error('Event subscriber failed', { taskId: detail.taskId, seq: detail.seq, error: errorSummary(error) });
      })
      .finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }
}
