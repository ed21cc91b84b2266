import type { Queryable } from '../db/database';
import { getTaskHistory } from '../db/repositories/tasks';
import type { TaskRecord } from '../domain/task';
import type { EventBus } from '../ports/event-bus';
import type { JobQueue } from '../ports/job-queue';
import { publishStatus } from './events';
import { jobMessage } from './messages';

/**
 * For a task found `queued` again (a retried intake message, a late duplicate, the sweeper):
 * sends its job again, then publishes its `queued` event again with the seq of that transition.
 * The first send or publish may have failed after the transition committed, and nothing else
 * would ever publish that event; a duplicate is harmless, since receivers drop a seq they passed.
 * The job goes first, as on the first pass: if publishing fails, the caller's retry comes back here.
 */
export async function resendQueued(deps: { db: Queryable; jobs: JobQueue; events: EventBus }, task: TaskRecord): Promise<void> {
  await deps.jobs.send(jobMessage(task.id));
  const latest = (await getTaskHistory(deps.db, task.id)).at(-1);
  // Moved on since it was read: a later transition has its own event, which supersedes this one.
  if (latest?.toStatus !== 'queued') return;
  await publishStatus(deps.events, task, latest.id, latest.fromStatus, latest.at);
}
