import type { TaskRecord } from '../../domain/task';
import type { ResultSummary, TaskDetail, TaskSummary } from '../../db/repositories/tasks';
import type { z } from 'zod';
import type { resultSummarySchema, taskSchema } from './schemas';

export type TaskView = z.input<typeof taskSchema>;

/**
 * A task as clients see it (DESIGN "HTTP API"): states and progress, never object keys, lease
 * tokens, attempts or the owner id. `result` only once completed, as a summary; the document
 * itself comes from the result route.
 */
export function taskView(task: TaskSummary | (TaskRecord & Pick<TaskSummary, 'filename' | 'contentType' | 'size'>) | TaskDetail): TaskView {
  const result = 'result' in task && task.result && task.status === 'completed' ? resultView(task.result) : undefined;
  return {
    id: task.id,
    status: task.status,
    filename: task.filename,
    contentType: task.contentType,
    size: task.size,
    pageCount: task.pageCount,
    pagesDone: task.pagesDone,
    errorCode: task.errorCode,
    errorMessage: task.errorMessage,
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
    ...(result ? { result } : {}),
  };
}

function resultView(result: ResultSummary): z.input<typeof resultSummarySchema> {
  return {
    pageCount: result.pageCount,
    wordCount: result.wordCount,
    confidence: result.confidence,
    model: result.model,
    processingMs: result.processingMs,
    completedAt: result.createdAt.toISOString(),
  };
}
