import * as z from 'zod';
import { TASK_STATUSES } from '../domain/task';
import type { TaskStatusEventDetail } from '../ports/event-bus';

/**
 * What a WebSocket client receives (DESIGN "Events and notifications"). JSON in text frames; ids,
 * states and counts only, never file names or document content (the client fetches results over
 * HTTP). Fields may be added, never renamed.
 *
 * `{type: "task.status", seq, taskId, status, pagesDone, pageCount, errorCode?, at}`
 *
 * Delivery is at least once and unordered, so a client keeps, per task, the last message it
 * applied and applies a new one only when `isNewerStatus(last, next)` holds:
 * - a higher `seq` is newer (seq is the task_history id of the transition);
 * - a lower `seq` is stale: drop it;
 * - an equal `seq` is a progress update of the same transition (the worker reuses the seq of the
 *   move to `processing` while `pagesDone` rises) or a duplicate: apply it only when `pagesDone`
 *   grew or `status` differs, else drop it.
 * After a reconnect, `GET /v1/tasks/{id}` gives the current state; messages are hints, the HTTP
 * API is the truth.
 *
 * A client may send `{"action": "ping"}` and receives `{type: "pong"}` (API Gateway's idle
 * timeout is 10 minutes; its connections last at most 2 hours, after which a client reconnects
 * with a new ticket).
 */
export const taskStatusMessageSchema = z.strictObject({
  type: z.literal('task.status'),
  seq: z.number().int().nonnegative(),
  taskId: z.uuid(),
  status: z.enum(TASK_STATUSES),
  pagesDone: z.number().int().nonnegative(),
  pageCount: z.number().int().nonnegative().nullable(),
  errorCode: z.string().min(1).max(64).optional(),
  /** When the transition happened (the event's occurredAt). */
  at: z.iso.datetime({ offset: true }),
});

export type TaskStatusMessage = z.infer<typeof taskStatusMessageSchema>;

export const PONG_MESSAGE = { type: 'pong' } as const;
export type PongMessage = typeof PONG_MESSAGE;

/** The one action a client may send (API Gateway routes on `$request.body.action`). */
export const PING_ACTION = 'ping';

/** API Gateway's frame limit for WebSocket messages. */
export const MAX_FRAME_BYTES = 32 * 1024;

export class MessageTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`A WebSocket message of ${bytes} bytes exceeds the ${MAX_FRAME_BYTES}-byte frame limit`);
    this.name = 'MessageTooLargeError';
  }
}

/**
 * The message for an event. Fields are picked one by one (never spread), so nothing an event
 * might carry beyond the contract (the owner's id, the previous status) reaches a client.
 */
export function taskStatusMessage(detail: TaskStatusEventDetail): TaskStatusMessage {
  return {
    type: 'task.status',
    seq: detail.seq,
    taskId: detail.taskId,
    status: detail.status,
    pagesDone: detail.pagesDone,
    pageCount: detail.pageCount,
    ...(detail.errorCode !== undefined ? { errorCode: detail.errorCode } : {}),
    at: detail.occurredAt,
  };
}

/** The text frame for a message; throws rather than send what API Gateway would refuse. */
export function encodeFrame(message: TaskStatusMessage | PongMessage): string {
  const frame = JSON.stringify(message);
  const bytes = Buffer.byteLength(frame, 'utf8');
  if (bytes > MAX_FRAME_BYTES) throw new MessageTooLargeError(bytes);
  return frame;
}

/** The client's rule for one task (see above): should `next` replace `last`? */
export function isNewerStatus(
  last: Pick<TaskStatusMessage, 'seq' | 'status' | 'pagesDone'> | undefined,
  next: Pick<TaskStatusMessage, 'seq' | 'status' | 'pagesDone'>,
): boolean {
  if (!last || next.seq > last.seq) return true;
  if (next.seq < last.seq) return false;
  return next.pagesDone > last.pagesDone || next.status !== last.status;
}
