import type { TaskRecord, TaskStatus } from '../domain/task';
import type { EventBus, TaskStatusEventDetail } from '../ports/event-bus';

/** The event of one applied transition (its history row's id is the `seq`). */
export function statusEvent(task: TaskRecord, seq: number, previousStatus: TaskStatus | null, at: Date): TaskStatusEventDetail {
  return {
    version: 1,
    seq,
    taskId: task.id,
    userId: task.ownerId,
    status: task.status,
    previousStatus,
    pagesDone: task.pagesDone,
    pageCount: task.pageCount,
    ...(task.errorCode ? { errorCode: task.errorCode } : {}),
    occurredAt: at.toISOString(),
  };
}

export function publishStatus(bus: EventBus, task: TaskRecord, seq: number, previousStatus: TaskStatus | null, at = new Date()): Promise<void> {
  return bus.publish(statusEvent(task, seq, previousStatus, at));
}
