/**
 * Intake (DESIGN "Intake"): an uploaded object is checked by ranged reads, then its task moves
 * `awaiting_upload → queued` (event + job message) or `failed` with a code and a message a user
 * understands. Idempotent: S3 events are at least once and unordered, and every move is a
 * conditional UPDATE, so a duplicate changes nothing; a task found already `queued` gets its job
 * sent again (the claim removes duplicates) and its `queued` event published again (receivers
 * drop a seq they passed), which is what keeps a lost job message or event from stranding it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { errorSummary } from '../adapters/error-summary';
import type { Database, Queryable } from '../db/database';
import { DEFAULT_MAX_PAGES_PER_DAY, lockQuotaOf, pagesOverDailyQuota } from '../db/repositories/quota';
import { findTaskByUploadKey, findTaskById, transitionTask, type TransitionOutcome, type UploadRef } from '../db/repositories/tasks';
import { taskError, type TaskError, type TaskRecord } from '../domain/task';
import type { Clock } from '../ports/clock';
import type { EventBus } from '../ports/event-bus';
import type { JobQueue } from '../ports/job-queue';
import type { ObjectStore } from '../ports/object-store';
import { publishStatus } from './events';
import { jobMessage, parseIntakeMessage, type CreatedObject } from './messages';
import { HEAD_BYTES, probeDocument, type ProbeLimits } from './probe';
import { resendQueued } from './resend';

export interface IntakeDeps {
  db: Database;
  objects: ObjectStore;
  jobs: JobQueue;
  events: EventBus;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
  limits: IntakeLimits;
}

export interface IntakeLimits extends ProbeLimits {
  /** The API's daily page quota, checked again here once the pages are counted. */
  maxPagesPerDay: number;
}

export const DEFAULT_INTAKE_LIMITS: IntakeLimits = { maxPages: 3000, maxImagePixels: 150_000_000, maxPagesPerDay: DEFAULT_MAX_PAGES_PER_DAY };

export type IntakeOutcome =
  | 'queued'
  | 'job_resent'
  | 'failed'
  | 'erased'
  | 'already_processed'
  | 'object_missing'
  | 'ignored';

/** One intake queue message: an S3 notification with any number of records, or S3's test event. */
export async function handleIntakeMessage(body: unknown, deps: IntakeDeps): Promise<IntakeOutcome[]> {
  const message = parseIntakeMessage(body);
  if (message.kind === 'test') return [];
  if (message.kind === 'invalid') {
    // It would fail the same way on every receive: drop it rather than feed the DLQ.
    deps.logger.warn('Dropped an intake message that is not an S3 notification', { reason: message.reason });
    return ['ignored'];
  }
  const outcomes: IntakeOutcome[] = [];
  for (const object of message.objects) outcomes.push(await intakeObject(object, deps));
  return outcomes;
}

export async function intakeObject(object: Pick<CreatedObject, 'key'>, deps: IntakeDeps): Promise<IntakeOutcome> {
  // Only uploads are intake's business (results are written by the worker into the same bucket).
  if (!object.key.startsWith('uploads/')) return 'ignored';
  const found = await findTaskByUploadKey(deps.db, object.key);
  if (!found || found.task.status === 'deleted') {
    // A still-valid upload URL must not resurrect a deleted task, nor leave orphaned documents.
    await deps.objects.deleteAllVersions({ key: object.key });
    deps.logger.info('Erased an upload without a live task', { taskId: found?.task.id ?? null });
    return 'erased';
  }
  const { task, upload } = found;
  switch (task.status) {
    case 'queued':
      await resendQueued(deps, task);
      return 'job_resent';
    case 'awaiting_upload':
      return checkAndQueue(task, upload, deps);
    default:
      return 'already_processed';
  }
}

async function checkAndQueue(task: TaskRecord, upload: UploadRef, deps: IntakeDeps): Promise<IntakeOutcome> {
  const verdict = await inspect(upload, deps);
  if (verdict === 'missing') return 'object_missing';
  const transition = verdict.ok
    ? await queueWithinQuota(task, verdict.pageCount, deps)
    : await failIntake(deps.db, task, verdict);

  if (!transition.applied) {
    // Another delivery of this event moved the task first: only make sure a queued task has its job.
    const now = await findTaskById(deps.db, task.id);
    if (now?.status === 'queued') {
      await resendQueued(deps, now);
      return 'job_resent';
    }
    return 'already_processed';
  }
  // Job before event: if either fails, the intake message is retried, finds the task queued and
  // sends both again (resendQueued).
  if (transition.task.status === 'queued') await deps.jobs.send(jobMessage(task.id));
  await publishStatus(deps.events, transition.task, transition.seq, 'awaiting_upload', deps.clock.now());
  deps.logger.info('Intake decided', {
    taskId: task.id,
    status: transition.task.status,
    ...(transition.task.errorCode ? { errorCode: transition.task.errorCode } : {}),
    pageCount: transition.task.pageCount,
  });
  return transition.task.status === 'queued' ? 'queued' : 'failed';
}

function failIntake(db: Queryable, task: TaskRecord, error: TaskError): Promise<TransitionOutcome> {
  return transitionTask(db, { taskId: task.id, from: 'awaiting_upload', to: 'failed', errorCode: error.code, errorMessage: error.message });
}

/**
 * Queues the task unless its pages exceed what is left of the owner's daily page quota (then it
 * fails with `quota_exceeded`); under the per-user lock task creation takes, in one transaction.
 */
function queueWithinQuota(task: TaskRecord, pageCount: number, deps: IntakeDeps): Promise<TransitionOutcome> {
  const { maxPagesPerDay } = deps.limits;
  return deps.db.transaction(async (tx) => {
    await lockQuotaOf(tx, task.ownerId);
    const over = await pagesOverDailyQuota(tx, { userId: task.ownerId, createdAt: task.createdAt, pageCount, maxPagesPerDay });
    if (over) return failIntake(tx, task, taskError('quota_exceeded', { count: pageCount, left: over.left, max: maxPagesPerDay }));
    return transitionTask(tx, { taskId: task.id, from: 'awaiting_upload', to: 'queued', pageCount });
  });
}

type Verdict =
  | 'missing'
  | { ok: true; pageCount: number }
  | ({ ok: false } & TaskError);

/** Size and checksum from the object's attributes, everything else from byte ranges. */
async function inspect(upload: UploadRef, deps: IntakeDeps): Promise<Verdict> {
  const attributes = await deps.objects.getAttributes(upload.s3Key);
  if (!attributes) return 'missing';
  if (attributes.size !== upload.size) {
    return { ok: false, ...taskError('size_mismatch', { actual: attributes.size, declared: upload.size }) };
  }
  if (attributes.sha256Hex === null || attributes.sha256Hex.toLowerCase() !== upload.sha256.toLowerCase()) {
    return { ok: false, ...taskError('checksum_mismatch') };
  }
  if (attributes.size === 0) return { ok: false, ...taskError('corrupt_document') };

  const read = async (start: number, end: number): Promise<Uint8Array> => {
    const object = await deps.objects.get(upload.s3Key, { range: { start, end } });
    if (!object) throw new Error('The upload disappeared during intake');
    return object.body;
  };
  const head = await read(0, Math.min(attributes.size, HEAD_BYTES) - 1);
  try {
    const probe = await probeDocument({ declaredType: upload.contentType, size: attributes.size, head, read, limits: deps.limits });
    return probe.ok ? { ok: true, pageCount: probe.pageCount } : probe;
  } catch (error) {
    deps.logger.warn('Probing the upload failed', { error: errorSummary(error) });
    throw error;
  }
}
