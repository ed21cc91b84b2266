import { randomUUID } from 'node:crypto';
import type { Clock } from '../../ports/clock';
import {
  parseBody,
  StaleReceiptError,
  type JobQueue,
  type JsonValue,
  type QueueDepth,
  type QueueMessage,
  type ReceiveMessageOptions,
  type SendMessageOptions,
} from '../../ports/job-queue';
import { systemClock } from '../clock';

export interface InMemoryJobQueueOptions {
  /** Default visibility timeout for received messages (SQS default: 30 s). */
  visibilityTimeoutSeconds?: number;
  /** With deadLetterQueue: a message received this many times moves there on its next receive, as with an SQS redrive policy. */
  maxReceiveCount?: number;
  deadLetterQueue?: InMemoryJobQueue;
  clock?: Clock;
}

interface StoredMessage {
  id: string;
  /** Kept serialised, so a consumer can never mutate what a later receive sees. */
  body: string;
  receiveCount: number;
  visibleAt: number;
  /** Null until first received; replaced on every receive. */
  receiptHandle: string | null;
}

const MAX_DELAY_SECONDS = 900;
const MAX_VISIBILITY_SECONDS = 12 * 3600;
const MAX_WAIT_SECONDS = 20;

/**
 * An in-process queue with the SQS semantics the service relies on: at-least-once delivery,
 * visibility timeouts, receive counts, per-message delay, long polls that wake as soon as a
 * message can be received, and redrive to a dead-letter queue. Messages live in memory; local
 * start-up re-sends what the database says is still queued (DESIGN.md "Task states").
 */
export class InMemoryJobQueue implements JobQueue {
  private readonly messages = new Map<string, StoredMessage>();
  private readonly byReceipt = new Map<string, string>();
  private readonly waiters = new Set<() => void>();
  private readonly clock: Clock;
  private readonly visibilityTimeoutSeconds: number;
  private closed = false;

  constructor(private readonly options: InMemoryJobQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 30;
    assertSeconds('visibilityTimeoutSeconds', this.visibilityTimeoutSeconds, MAX_VISIBILITY_SECONDS);
    if (options.maxReceiveCount !== undefined && (!Number.isInteger(options.maxReceiveCount) || options.maxReceiveCount < 1)) {
      throw new RangeError('maxReceiveCount must be a positive integer');
    }
  }

  async send(body: JsonValue, options: SendMessageOptions = {}): Promise<{ messageId: string }> {
    if (this.closed) throw new Error('The queue is closed');
    const delaySeconds = options.delaySeconds ?? 0;
    assertSeconds('delaySeconds', delaySeconds, MAX_DELAY_SECONDS);
    return { messageId: this.enqueue(JSON.stringify(body), delaySeconds) };
  }

  async receive(options: ReceiveMessageOptions = {}): Promise<QueueMessage[]> {
    const maxMessages = options.maxMessages ?? 1;
    if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > 10) throw new RangeError('maxMessages must be 1–10');
    const waitSeconds = options.waitSeconds ?? 0;
    assertSeconds('waitSeconds', waitSeconds, MAX_WAIT_SECONDS);
    const visibility = options.visibilityTimeoutSeconds ?? this.visibilityTimeoutSeconds;
    assertSeconds('visibilityTimeoutSeconds', visibility, MAX_VISIBILITY_SECONDS);

    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const received = this.take(maxMessages, visibility);
      if (received.length > 0 || this.closed || options.signal?.aborted) return received;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return [];
      await this.waitForChange(Math.min(remaining, this.msUntilNextVisible()), options.signal);
    }
  }

  async changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): Promise<void> {
    assertSeconds('visibilityTimeoutSeconds', visibilityTimeoutSeconds, MAX_VISIBILITY_SECONDS);
    const message = this.inFlight(receiptHandle);
    if (!message) throw new StaleReceiptError();
    message.visibleAt = this.now() + visibilityTimeoutSeconds * 1000;
    if (visibilityTimeoutSeconds === 0) this.wake();
  }

  async delete(receiptHandle: string): Promise<void> {
    const id = this.byReceipt.get(receiptHandle);
    const message = id === undefined ? undefined : this.messages.get(id);
    // As in SQS, a handle from an earlier receive deletes nothing once the message was received again.
    if (!message || message.receiptHandle !== receiptHandle) return;
    this.messages.delete(message.id);
    this.byReceipt.delete(receiptHandle);
  }

  async approximateDepth(): Promise<QueueDepth> {
    const now = this.now();
    const depth: QueueDepth = { visible: 0, inFlight: 0, delayed: 0 };
    for (const message of this.messages.values()) {
      if (message.visibleAt <= now) depth.visible += 1;
      else if (message.receiptHandle === null) depth.delayed += 1;
      else depth.inFlight += 1;
    }
    return depth;
  }

  /** Ends pending long polls (they return nothing) and refuses further sends. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  private enqueue(body: string, delaySeconds: number): string {
    const id = randomUUID();
    this.messages.set(id, { id, body, receiveCount: 0, visibleAt: this.now() + delaySeconds * 1000, receiptHandle: null });
    if (delaySeconds === 0) this.wake();
    return id;
  }

  private take(maxMessages: number, visibilitySeconds: number): QueueMessage[] {
    const now = this.now();
    const received: QueueMessage[] = [];
    for (const message of this.messages.values()) {
      if (received.length >= maxMessages) break;
      if (message.visibleAt > now) continue;
      if (this.shouldRedrive(message)) {
        this.moveToDeadLetterQueue(message);
        continue;
      }
      if (message.receiptHandle) this.byReceipt.delete(message.receiptHandle);
      message.receiveCount += 1;
      message.receiptHandle = randomUUID();
      message.visibleAt = now + visibilitySeconds * 1000;
      this.byReceipt.set(message.receiptHandle, message.id);
      received.push({
        id: message.id,
        body: parseBody(message.body),
        receiptHandle: message.receiptHandle,
        receiveCount: message.receiveCount,
      });
    }
    return received;
  }

  private shouldRedrive(message: StoredMessage): boolean {
    const { maxReceiveCount, deadLetterQueue } = this.options;
    return deadLetterQueue !== undefined && maxReceiveCount !== undefined && message.receiveCount >= maxReceiveCount;
  }

  private moveToDeadLetterQueue(message: StoredMessage): void {
    this.messages.delete(message.id);
    if (message.receiptHandle) this.byReceipt.delete(message.receiptHandle);
    this.options.deadLetterQueue?.enqueue(message.body, 0);
  }

  private inFlight(receiptHandle: string): StoredMessage | undefined {
    const id = this.byReceipt.get(receiptHandle);
    const message = id === undefined ? undefined : this.messages.get(id);
    if (!message || message.receiptHandle !== receiptHandle || message.visibleAt <= this.now()) return undefined;
    return message;
  }

  private msUntilNextVisible(): number {
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const message of this.messages.values()) next = Math.min(next, message.visibleAt - now);
    return Math.max(next, 1);
  }

  private waitForChange(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private now(): number {
    return this.clock.now().getTime();
  }
}

function assertSeconds(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} must be an integer from 0 to ${max}`);
}
