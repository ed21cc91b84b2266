import * as z from 'zod';
import { TASK_STATUSES } from '../domain/task';

const eventTaskStatusSchema = z.enum(TASK_STATUSES);

/**
 * The `detail` of a "Task Status Changed" event. Events cross a trust boundary (EventBridge →
 * notifier Lambda → WebSocket clients), so receivers parse them with this schema rather than
 * trusting a cast; unknown fields are refused to keep the payload free of anything but ids and states.
 */
export const taskStatusEventDetailSchema = z.strictObject({
  version: z.literal(1),
  /** The task_history id: receivers drop what is older than the last seq they passed on. */
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  taskId: z.uuid(),
  userId: z.uuid(),
  status: eventTaskStatusSchema,
  /** Null for the event that creates the task. */
  previousStatus: eventTaskStatusSchema.nullable(),
  pagesDone: z.number().int().nonnegative(),
  /** Null until intake has counted the pages. */
  pageCount: z.number().int().nonnegative().nullable(),
  errorCode: z.string().min(1).max(64).optional(),
  occurredAt: z.iso.datetime({ offset: true }),
});

export type TaskStatusEventDetail = z.infer<typeof taskStatusEventDetailSchema>;

export const TASK_EVENT_SOURCE = 'untxt.tasks';
export const TASK_STATUS_CHANGED = 'Task Status Changed';

export interface EventBus {
  /** Resolves once the bus has accepted the event (not once subscribers have handled it). */
  publish(detail: TaskStatusEventDetail): Promise<void>;
}

export type TaskStatusEventHandler = (detail: TaskStatusEventDetail) => Promise<void> | void;

/** Local only: in AWS, subscribers are EventBridge rules. */
export interface EventSubscriptions {
  /** Returns a function that unsubscribes. */
  subscribe(handler: TaskStatusEventHandler): () => void;
}
