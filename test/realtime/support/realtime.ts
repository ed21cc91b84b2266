import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventBridgeEvent } from 'aws-lambda';
import { TASK_EVENT_SOURCE, TASK_STATUS_CHANGED, type TaskStatusEventDetail } from '../../../src/ports/event-bus';

export const USER_A = '0b8e2f6a-3c1d-4e5f-8a9b-1c2d3e4f5a6b';
export const USER_B = '7d6c5b4a-3f2e-4d1c-9b8a-7f6e5d4c3b2a';

/** A logger that keeps what it was told, for the tests that look at it. */
export function recordingLogger(): Pick<Logger, 'info' | 'warn' | 'error' | 'debug'> & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const at = (level: string) => (message: unknown, ...data: unknown[]) => void lines.push({ level, message: String(message), data: data[0] });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

export interface LoggedLine {
  level: string;
  message: string;
  data?: unknown;
}

export function taskDetail(overrides: Partial<TaskStatusEventDetail> = {}): TaskStatusEventDetail {
  return {
    version: 1,
    seq: 42,
    taskId: randomUUID(),
    userId: USER_A,
    status: 'processing',
    previousStatus: 'queued',
    pagesDone: 3,
    pageCount: 10,
    occurredAt: '2026-11-29T12:00:00.000Z',
    ...overrides,
  };
}

export function taskEvent(detail: unknown, overrides: Partial<EventBridgeEvent<string, unknown>> = {}): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': TASK_STATUS_CHANGED,
    source: TASK_EVENT_SOURCE,
    account: '123456789012',
    time: '2026-11-29T12:00:00Z',
    region: 'eu-central-1',
    resources: [],
    detail,
    ...overrides,
  };
}

/** Retries without waiting; the waits asked for are kept. */
export function instantRetry() {
  const waits: number[] = [];
  return { waits, tools: { sleep: async (ms: number) => void waits.push(ms), random: () => 0.999 } };
}

/** Resolves once `condition` holds, checking after each turn of the event loop (no timers). */
export async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setImmediate(resolve));
}
