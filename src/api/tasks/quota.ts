import type { TaskUsage } from '../../db/repositories/quota';
import { startOfUtcDay } from '../../domain/utc-day';
import { tooManyRequests } from '../../http/problem';
import type { ApiError } from '../../http/problem';
import type { ApiConfig } from '../config';

/** A day quota frees at the next UTC midnight; a running task frees its slot when it ends, which has no fixed time. */
export const CONCURRENCY_RETRY_AFTER_SECONDS = 60;

function secondsUntilNextUtcDay(at: Date): number {
  return (startOfUtcDay(at).getTime() + 24 * 3600 * 1000 - at.getTime()) / 1000;
}

/**
 * Whether one more task of `size` bytes (at least one page) fits; the 429 to answer if not.
 * Pure, so every branch is tested without a database. The usage comes from taskUsage
 * (src/db/repositories/quota.ts), which also says what counts.
 */
export function quotaRefusal(
  usage: TaskUsage,
  size: number,
  limits: Pick<ApiConfig['limits'], 'maxConcurrentTasks' | 'maxPagesPerDay' | 'maxBytesPerDay'>,
  now: Date,
): ApiError | null {
  if (usage.active >= limits.maxConcurrentTasks) {
    return tooManyRequests(
      CONCURRENCY_RETRY_AFTER_SECONDS,
      'quota_exceeded',
      `At most ${limits.maxConcurrentTasks} tasks may be in progress at once; wait for one to finish.`,
    );
  }
  if (usage.pagesToday + 1 > limits.maxPagesPerDay) {
    return tooManyRequests(secondsUntilNextUtcDay(now), 'quota_exceeded', `The daily limit of ${limits.maxPagesPerDay} pages is used up.`);
  }
  if (usage.bytesToday + size > limits.maxBytesPerDay) {
    return tooManyRequests(secondsUntilNextUtcDay(now), 'quota_exceeded', `The daily limit of ${limits.maxBytesPerDay} bytes would be exceeded.`);
  }
  return null;
}
