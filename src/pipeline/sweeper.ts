/**
 * The sweeper (DESIGN "Task states"): nothing may strand a task. Every 5 minutes (and at local
 * start-up) it re-sends jobs of `queued` tasks that have not moved for 10 minutes, and fails
 * `awaiting_upload` tasks older than the upload URL's life plus 15 minutes with `upload_expired`,
 * unless the object is there after all (an intake message was lost: local queues live in
 * memory), in which case it runs intake on it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { errorSummary } from '../adapters/error-summary';
import type { Database } from '../db/database';
import { findStaleAwaitingUpload, findStaleQueued, findTaskWithUpload, transitionTask } from '../db/repositories/tasks';
import { taskError } from '../domain/task';
import type { Clock } from '../ports/clock';
import type { EventBus } from '../ports/event-bus';
import type { JobQueue } from '../ports/job-queue';
import type { ObjectStore } from '../ports/object-store';
import { publishStatus } from './events';
import type { IntakeOutcome } from './intake';
import { jobMessage } from './messages';
import { resendQueued } from './resend';

export interface SweeperDeps {
  db: Database;
  objects: ObjectStore;
  jobs: JobQueue;
  events: EventBus;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Runs intake on an upload that arrived but was never taken in. */
  intake: (key: string) => Promise<IntakeOutcome>;
}

export interface SweeperOptions {
  queuedStaleSeconds?: number;
  /** Life of an upload URL (the API's presign expiry). */
  uploadUrlSeconds?: number;
  uploadGraceSeconds?: number;
  /**
   * Also re-send `processing` tasks whose lease ran out. Local mode only: there the job message
   * may have died with the process, while in SQS it becomes visible again by itself.
   */
  resendExpiredLeases?: boolean;
  /** Most tasks handled per kind and run; the next run takes the rest. */
  limit?: number;
}

export interface SweepReport {
  resent: number;
  expired: number;
  intaken: number;
  errors: number;
}

export const SWEEP_DEFAULTS = { queuedStaleSeconds: 600, uploadUrlSeconds: 300, uploadGraceSeconds: 900, limit: 500 } as const;

export async function sweep(deps: SweeperDeps, options: SweeperOptions = {}): Promise<SweepReport> {
  const o = { ...SWEEP_DEFAULTS, ...options };
  const report: SweepReport = { resent: 0, expired: 0, intaken: 0, errors: 0 };
  // One task's failure must not stop the sweep of the others.
  const guarded = async (taskId: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (error) {
      report.errors += 1;
      deps.logger.error('Sweeping a task failed', { taskId, error: errorSummary(error) });
    }
  };

  // A stale queued task may have lost its event as well as its job (intake's message gave up
  // between the two): both are sent again. A leased one already announced `processing`.
  const stale = await findStaleQueued(deps.db, { olderThanSeconds: o.queuedStaleSeconds, limit: o.limit });
  for (const task of stale) {
    await guarded(task.id, async () => {
      await resendQueued(deps, task);
      report.resent += 1;
    });
  }
  const leased = o.resendExpiredLeases ? await expiredLeases(deps.db, o.limit) : [];
  for (const id of leased) {
    await guarded(id, async () => {
      await deps.jobs.send(jobMessage(id));
      report.resent += 1;
    });
  }

  const awaiting = await findStaleAwaitingUpload(deps.db, { olderThanSeconds: o.uploadUrlSeconds + o.uploadGraceSeconds, limit: o.limit });
  for (const task of awaiting) {
    await guarded(task.id, async () => {
      const found = await findTaskWithUpload(deps.db, task.id);
      if (!found) return;
      if (await deps.objects.getAttributes(found.upload.s3Key)) {
        await deps.intake(found.upload.s3Key);
        report.intaken += 1;
        return;
      }
      const expired = taskError('upload_expired');
      const moved = await transitionTask(deps.db, {
        taskId: task.id,
        from: 'awaiting_upload',
        to: 'failed',
        errorCode: expired.code,
        errorMessage: expired.message,
      });
      if (moved.applied) {
        await publishStatus(deps.events, moved.task, moved.seq, 'awaiting_upload', deps.clock.now());
        report.expired += 1;
      }
    });
  }
  if (report.resent + report.expired + report.intaken + report.errors > 0) deps.logger.info('Sweep done', { ...report });
  return report;
}

async function expiredLeases(db: Database, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM tasks WHERE status = 'processing' AND lease_until < now() ORDER BY lease_until LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.id);
}
