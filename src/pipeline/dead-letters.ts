/**
 * The jobs DLQ consumer: a job message that was received too often without its task finishing
 * (the worker crashed on it each time, or it could never be parsed) ends here. Its task must not
 * stay `queued` or `processing` for ever: fail it with a code the user can read.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Database } from '../db/database';
import { failAbandonedTask, findTaskById, transitionTask } from '../db/repositories/tasks';
import { taskError } from '../domain/task';
import type { Clock } from '../ports/clock';
import type { EventBus } from '../ports/event-bus';
import { publishStatus } from './events';
import { jobMessageSchema } from './messages';

export interface DeadLetterDeps {
  db: Database;
  events: EventBus;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
}

export type DeadLetterOutcome = 'failed' | 'already_final' | 'unparseable' | 'missing';

/** Thrown while a worker still holds a live lease on the task: retry the message later. */
export class TaskStillLeasedError extends Error {
  constructor() {
    super('The task is still leased by a worker');
    this.name = 'TaskStillLeasedError';
  }
}

export const DEAD_LETTER_ERROR = taskError('processing_failed');

export async function handleDeadJob(body: unknown, deps: DeadLetterDeps): Promise<DeadLetterOutcome> {
  const parsed = jobMessageSchema.safeParse(body);
  if (!parsed.success) {
    deps.logger.warn('Dropped an unparseable dead job message');
    return 'unparseable';
  }
  const task = await findTaskById(deps.db, parsed.data.taskId);
  if (!task) return 'missing';
  if (task.status !== 'queued' && task.status !== 'processing') return 'already_final';
  if (task.status === 'processing' && task.leaseUntil && task.leaseUntil.getTime() > deps.clock.now().getTime()) {
    throw new TaskStillLeasedError();
  }
  const failure = { taskId: task.id, errorCode: DEAD_LETTER_ERROR.code, errorMessage: DEAD_LETTER_ERROR.message };
  // A processing task is failed only once its lease has expired by the database's clock.
  const moved =
    task.status === 'processing'
      ? await failAbandonedTask(deps.db, failure)
      : await transitionTask(deps.db, { ...failure, from: 'queued', to: 'failed' });
  if (!moved.applied) {
    const now = await findTaskById(deps.db, task.id);
    if (now?.status === 'processing') throw new TaskStillLeasedError();
    return 'already_final';
  }
  await publishStatus(deps.events, moved.task, moved.seq, task.status, deps.clock.now());
  deps.logger.info('Failed a task stranded in the jobs dead-letter queue', { taskId: task.id });
  return 'failed';
}
