/**
 * Posts a text frame to one open WebSocket connection: API Gateway's management API in AWS
 * (PostToConnection), the socket itself locally.
 *
 * `send` resolves `sent`, or `gone` when the connection no longer exists (410 / GoneException);
 * it throws `RetryableSendError` for what may pass if tried again shortly (throttling, a 5xx),
 * and any other error for what will not (a missing permission, say).
 */
export interface ConnectionSender {
  send(connectionId: string, frame: string): Promise<'sent' | 'gone'>;
}

export class RetryableSendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableSendError';
  }
}

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Throttling on the management API is per account and region; a few short retries ride out a
 * burst, and the whole fan-out still ends well inside the notifier's timeout
 * (at most 50 + 100 + 200 + 400 ms of waiting per connection).
 */
export const DEFAULT_SEND_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 50, maxDelayMs: 1000 };

export interface RetryTools {
  sleep: (ms: number) => Promise<void>;
  /** [0, 1): the jitter source. */
  random: () => number;
}

export const realRetryTools: RetryTools = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/**
 * `send` with retries of RetryableSendError: exponential backoff with full jitter (a random wait
 * up to base·2^n, capped), so many notifiers throttled at once do not retry in step.
 */
export async function sendWithRetry(
  sender: ConnectionSender,
  connectionId: string,
  frame: string,
  policy: RetryPolicy = DEFAULT_SEND_RETRY,
  tools: RetryTools = realRetryTools,
): Promise<'sent' | 'gone'> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sender.send(connectionId, frame);
    } catch (error) {
      if (!(error instanceof RetryableSendError) || attempt >= policy.attempts) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await tools.sleep(Math.floor(tools.random() * ceiling));
    }
  }
}
