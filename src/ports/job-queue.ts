/**
 * A queue with SQS semantics: at-least-once delivery, a visibility timeout during which a
 * received message is hidden, a receive count that grows on each redelivery, and (configured on
 * the queue, not per call) a redrive to a dead-letter queue. Serves both the intake and jobs queues.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface SendMessageOptions {
  /** 0–900 seconds, as SQS allows. */
  delaySeconds?: number;
}

export interface ReceiveMessageOptions {
  /** 1–10, as SQS allows. Defaults to 1. */
  maxMessages?: number;
  /** Long-poll: wait up to this many seconds (0–20) for a message. Defaults to 0. */
  waitSeconds?: number;
  /** Overrides the queue's default visibility timeout for these messages. */
  visibilityTimeoutSeconds?: number;
  /** Ends a long poll early (e.g. on SIGTERM); resolves with whatever was received, usually nothing. */
  signal?: AbortSignal;
}

export interface QueueMessage {
  id: string;
  /** Parsed JSON; the raw string when the body is not JSON. Validate it before use. */
  body: unknown;
  /** Changes on every receive; only the latest one can extend visibility. */
  receiptHandle: string;
  /** 1 on first delivery. */
  receiveCount: number;
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

export interface JobQueue {
  send(body: JsonValue, options?: SendMessageOptions): Promise<{ messageId: string }>;
  receive(options?: ReceiveMessageOptions): Promise<QueueMessage[]>;
  /** Throws StaleReceiptError when the message is no longer in flight under this handle. */
  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): Promise<void>;
  delete(receiptHandle: string): Promise<void>;
  approximateDepth(): Promise<QueueDepth>;
}

export class StaleReceiptError extends Error {
  constructor() {
    super('The receipt handle is not that of a message in flight');
    this.name = 'StaleReceiptError';
  }
}

/** S3 notifications and our own messages are JSON; anything else is handed over raw for the consumer to refuse. */
export function parseBody(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
