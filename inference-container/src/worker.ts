/**
 * The worker core (DESIGN "The GPU worker", "Task states, claims and leases"): long-polls the jobs
 * queue, claims each task, rasterizes its pages and feeds them through one bounded page pool to
 * the OCR engine, checkpoints every finished page, assembles and stores the result, and
 * completes the task in one statement. The engine is a port: Tesseract locally, Qwen3-VL on a GPU.
 * A page the engine fails on every attempt for its answers (cut short, looping, malformed, empty,
 * filtered) is read from the PDF's own text layer, else from a fallback engine (the CPU one), and
 * marked in the JSON view; with neither, the attempt fails and the last attempt ends the task as
 * `ocr_failed`. A page failed because the model server erred or timed out is no page's fault: it
 * fails the attempt, so a sick vLLM retries the task later instead of turning it into CPU output.
 *
 * Message rules: a job whose task is terminal or gone is deleted; a task under a live lease hides
 * its message until the lease ends; the message of a non-terminal task is never deleted.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { errorSummary } from '../../src/adapters/error-summary';
import type { Database } from '../../src/db/database';
import {
  claimTask,
  completeTask,
  failAbandonedTask,
  findTaskById,
  findTaskWithUpload,
  getTaskHistory,
  recordPageDone,
  releaseLease,
  renewLease,
  transitionTask,
  type UploadRef,
} from '../../src/db/repositories/tasks';
import { pageCheckpointKey, pagePreviewKey, resultKeys } from '../../src/domain/storage-keys';
import { taskError, type TaskError, type TaskErrorCode, type TaskRecord } from '../../src/domain/task';
import { PageFailedError, UnreadablePageError, type OcrEngine, type OcrPage, type PageFailureReason, type PageImage } from '../../src/ocr/engine';
import { PagePool } from '../../src/ocr/page-pool';
import { assembleDocument } from '../../src/pipeline/assemble';
import { publishStatus } from '../../src/pipeline/events';
import { DEFAULT_INTAKE_LIMITS } from '../../src/pipeline/intake';
import { jobMessageSchema } from '../../src/pipeline/messages';
import { PREVIEW_CONTENT_TYPE, renderPagePreview } from '../../src/pipeline/preview';
import { probeBytes } from '../../src/pipeline/probe';
import { openRasterDocument, type RasterDocument, type RasterOptions } from '../../src/pipeline/rasterize';
import { inkCoverage, pageLetters } from '../../src/pipeline/text-layer';
import type { Clock } from '../../src/ports/clock';
import type { EventBus } from '../../src/ports/event-bus';
import type { JobQueue, QueueMessage } from '../../src/ports/job-queue';
import type { ObjectStore } from '../../src/ports/object-store';
import { ProtectionHolder, noScaleInProtection, type ScaleInProtection } from './scale-in-protection';

export interface WorkerOptions {
  /** Lease and message visibility per claim; renewed every `heartbeatSeconds`. */
  leaseSeconds: number;
  heartbeatSeconds: number;
  /**
   * The page pool: pages in flight across all jobs, from rendering to checkpoint. Larger than the
   * engine's own concurrency, so pages being rendered or stored do not leave the model's batch short.
   */
  maxPagesInFlight: number;
  /** Jobs worked on at once (new ones are taken only while the page pool has room). */
  maxJobs: number;
  pollWaitSeconds: number;
  /** Hides the message of a task that failed retryably for at least this long (and until the lease ends). */
  retryDelaySeconds: number;
  /** Hides the message of a task still awaiting its upload. */
  notReadyDelaySeconds: number;
  /** Progress events per job at most this often (the last page always reports). */
  progressIntervalMs: number;
  maxPages: number;
  /** Largest image page (width × height) accepted; re-checked before OCR like `maxPages`. */
  maxImagePixels: number;
  /**
   * Store a WebP preview per page for viewers. It costs CPU beside rasterization (on 2 cores it
   * cut the worker's page rate by about a third), so an operator without viewers may turn it off.
   */
  pagePreviews: boolean;
  raster: RasterOptions;
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = {
  leaseSeconds: 120,
  heartbeatSeconds: 30,
  maxPagesInFlight: 32,
  maxJobs: 8,
  pollWaitSeconds: 20,
  retryDelaySeconds: 30,
  notReadyDelaySeconds: 60,
  progressIntervalMs: 2000,
  maxPages: DEFAULT_INTAKE_LIMITS.maxPages,
  maxImagePixels: DEFAULT_INTAKE_LIMITS.maxImagePixels,
  pagePreviews: true,
  raster: {},
};

export interface WorkerDeps {
  db: Database;
  objects: ObjectStore;
  jobs: JobQueue;
  events: EventBus;
  engine: OcrEngine;
  /**
   * Reads a page the engine failed on every attempt for its answers (`PageFailedError`) when the
   * page's PDF text layer is missing or covers little of its ink: the CPU engine beside the GPU
   * one. Without it such a page is read from whatever text layer it has, else fails the attempt.
   */
  fallback?: OcrEngine;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  protection?: ScaleInProtection;
}

export type JobOutcome =
  | 'completed'
  | 'failed'
  | 'retry'
  | 'deferred'
  | 'deleted_message'
  | 'lease_lost'
  | 'released'
  | 'invalid_message';

/** An error the next attempt would meet again: the task fails at once with this code. */
export class PermanentJobError extends Error {
  readonly code: TaskErrorCode;
  constructor(error: TaskError) {
    super(error.message);
    this.code = error.code;
    this.name = 'PermanentJobError';
  }
}

/** The engine failed a page, and neither its text layer nor a fallback engine could read it. */
class PageUnreadError extends Error {
  constructor(
    readonly page: number,
    readonly failure: PageFailedError,
  ) {
    super(`Page ${page}: ${failure.message}; no fallback read it`);
    this.name = 'PageUnreadError';
  }
}

/** The model server failed a page (errors, timeouts): the attempt fails and the task is retried later. */
class ModelServerError extends Error {
  constructor(
    readonly page: number,
    readonly failure: PageFailedError,
  ) {
    super(`Page ${page}: ${failure.message}`);
    this.name = 'ModelServerError';
  }
}

class LeaseLostError extends Error {
  constructor() {
    super('The lease was lost');
    this.name = 'LeaseLostError';
  }
}

class ShutdownError extends Error {
  constructor() {
    super('The worker is shutting down');
    this.name = 'ShutdownError';
  }
}

/** A claim this worker holds, for the release when draining runs out of time. */
interface HeldJob {
  taskId: string;
  leaseToken: string;
  message: QueueMessage;
  lease: LeaseKeeper;
  /** Set once released on the job's behalf: the job then settles without touching anything. */
  released: boolean;
}

/**
 * Every `PageFailureReason`, and whether it is the page's answer (read from a fallback) or the
 * model server (the attempt fails and is retried). A checkpoint naming another reason is redone.
 */
const FAILURE_KINDS = {
  length: 'answer',
  repetition: 'answer',
  malformed: 'answer',
  content_filter: 'answer',
  empty: 'answer',
  // The server refused this page's request (e.g. more image tokens than the context holds): the page's fault.
  rejected: 'answer',
  // The request ran past its timeout while others completed: the server is alive, this page is too slow.
  too_slow: 'answer',
  server_error: 'server',
  timeout: 'server',
} as const satisfies { [R in PageFailureReason]: 'answer' | 'server' };
const FAILURE_REASONS = Object.keys(FAILURE_KINDS) as [PageFailureReason, ...PageFailureReason[]];

/**
 * Below this share of the page's ink inside the text layer's boxes, the layer is not the page's
 * text (a scan with a stamp or a Bates number): the fallback engine reads the page as well, and
 * the reading with more letters is kept. A born-digital page is near 1, even with rules and logos.
 */
export const MIN_TEXT_LAYER_COVERAGE = 0.5;

/** Stable log messages, for metric filters and alarms on the worker's log group. */
export const LOG_PAGE_FALLBACK = 'Page read by a fallback';
export const LOG_MODEL_SERVER_FAILED = 'Model server failed a page';

const checkpointSchema = z.object({
  page: z.number().int().positive(),
  width: z.number().positive(),
  height: z.number().positive(),
  engine: z.string(),
  confidence: z.number().nullable(),
  rotation: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]),
  blocks: z.array(z.looseObject({ kind: z.string(), bbox: z.array(z.number()).length(4).nullable(), confidence: z.number().nullable() })),
  // Kept across a resume: the JSON view marks the page whichever attempt assembles it.
  fallback: z.object({ from: z.string(), reason: z.enum(FAILURE_REASONS), attempts: z.number().int().nonnegative() }).optional(),
});

export class Worker {
  readonly options: WorkerOptions;
  readonly pool: PagePool;
  private readonly protection: ProtectionHolder;
  private readonly active = new Map<string, Promise<JobOutcome>>();
  private readonly pollAbort = new AbortController();
  /** Aborted on shutdown: pages not yet started are dropped, pages in the engine finish. */
  private readonly shutdown = new AbortController();
  /** Aborted when draining runs out of time: the engine is asked to drop the pages it is on. */
  private readonly abandon = new AbortController();
  private readonly held = new Map<string, HeldJob>();
  /** Every job being handled, polled or handed to `handle`: what `stop` drains. */
  private readonly running = new Set<Promise<JobOutcome>>();
  private loop?: Promise<void>;
  private stopping?: Promise<void>;
  private jobSeq = 0;

  constructor(
    private readonly deps: WorkerDeps,
    options: Partial<WorkerOptions> = {},
  ) {
    this.options = { ...DEFAULT_WORKER_OPTIONS, ...options };
    this.pool = new PagePool(this.options.maxPagesInFlight);
    this.protection = new ProtectionHolder(deps.protection ?? noScaleInProtection, (error) =>
      deps.logger.warn('Changing scale-in protection failed', { error: errorSummary(error) }),
    );
  }

  get activeJobs(): number {
    return this.active.size;
  }

  /** Starts polling; resolves when polling has ended (after `stop`). */
  start(): Promise<void> {
    this.loop ??= this.pollLoop();
    return this.loop;
  }

  /**
   * Graceful stop (SIGTERM, local shutdown): no more polling, pages not yet started are dropped,
   * pages in the engine finish and are checkpointed (within `drainMs`), then every lease is
   * released (the attempt is given back) and every message made visible again. Jobs still running
   * when `drainMs` is up have their engine work aborted and their claims released for them, so
   * nothing is left held when the caller closes the database and exits.
   */
  stop(drainMs = 30_000): Promise<void> {
    this.stopping ??= (async () => {
      this.pollAbort.abort();
      this.shutdown.abort(new ShutdownError());
      await this.loop;
      const jobs = Promise.allSettled(this.running).then(() => true);
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([jobs, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), drainMs)))]);
      clearTimeout(timer);
      if (!drained) await this.releaseHeld();
    })();
    return this.stopping;
  }

  /** Draining ran out of time: gives back every claim still held, as each job would have. */
  private async releaseHeld(): Promise<void> {
    this.abandon.abort(new ShutdownError());
    const held = [...this.held.values()].filter((job) => !job.released);
    this.deps.logger.warn('Draining timed out; releasing the tasks still held', { tasks: held.length });
    await Promise.all(
      held.map(async (job) => {
        job.released = true;
        // A heartbeat in progress must not hide the message again after it was made visible.
        await job.lease.settle();
        try {
          await releaseLease(this.deps.db, { taskId: job.taskId, leaseToken: job.leaseToken });
        } catch (error) {
          this.deps.logger.error('Releasing a lease failed', { taskId: job.taskId, error: errorSummary(error) });
        }
        await this.makeVisible(job.message);
      }),
    );
  }

  private async pollLoop(): Promise<void> {
    const { maxJobs, pollWaitSeconds, leaseSeconds } = this.options;
    while (!this.pollAbort.signal.aborted) {
      // Take work only while it can start: a free job slot and no page waiting for the pool.
      if (this.active.size >= maxJobs || this.pool.queued > 0) {
        await Promise.race([...this.active.values(), delay(200, this.pollAbort.signal)]);
        continue;
      }
      let messages: QueueMessage[];
      try {
        messages = await this.deps.jobs.receive({
          maxMessages: Math.min(10, maxJobs - this.active.size),
          waitSeconds: pollWaitSeconds,
          visibilityTimeoutSeconds: leaseSeconds,
          signal: this.pollAbort.signal,
        });
      } catch (error) {
        this.deps.logger.error('Receiving jobs failed', { error: errorSummary(error) });
        await delay(2000, this.pollAbort.signal);
        continue;
      }
      // A queue that answers an empty short poll at once (waitSeconds 0, an in-process queue)
      // would otherwise turn this loop into a busy spin that starves the jobs it runs.
      if (messages.length === 0 && pollWaitSeconds === 0) await delay(50, this.pollAbort.signal);
      for (const message of messages) {
        if (this.pollAbort.signal.aborted) {
          await this.makeVisible(message);
          continue;
        }
        const key = `${message.id}#${(this.jobSeq += 1)}`;
        const job = this.handle(message).finally(() => this.active.delete(key));
        this.active.set(key, job);
      }
    }
  }

  /** Handles one received job message end to end; never throws. */
  handle(message: QueueMessage): Promise<JobOutcome> {
    const job = this.handleJob(message).catch((error: unknown): JobOutcome => {
      this.deps.logger.error('Job handling failed', { error: errorSummary(error) });
      return 'retry';
    });
    this.running.add(job);
    void job.finally(() => this.running.delete(job));
    return job;
  }

  private async handleJob(message: QueueMessage): Promise<JobOutcome> {
    const { db, jobs, logger } = this.deps;
    const parsed = jobMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      // No task to decide for: leave it to the queue's redrive (the DLQ consumer drops it).
      logger.warn('Received a job message that does not parse', { messageId: message.id });
      await this.hide(message, this.options.retryDelaySeconds);
      return 'invalid_message';
    }
    const taskId = parsed.data.taskId;
    if (this.shutdown.signal.aborted) {
      await this.makeVisible(message);
      return 'released';
    }
    const claim = await claimTask(db, { taskId, leaseSeconds: this.options.leaseSeconds });
    if (!claim.claimed) {
      switch (claim.reason) {
        case 'terminal':
        case 'missing':
          await jobs.delete(message.receiptHandle);
          return 'deleted_message';
        case 'leased': {
          const remaining = Math.ceil(((claim.leaseUntil?.getTime() ?? 0) - this.deps.clock.now().getTime()) / 1000);
          await this.hide(message, Math.max(1, remaining));
          return 'deferred';
        }
        case 'exhausted':
          await this.failExhausted(taskId);
          await jobs.delete(message.receiptHandle);
          return 'failed';
        case 'not_ready':
          await this.hide(message, this.options.notReadyDelaySeconds);
          return 'deferred';
      }
    }

    const { task, leaseToken } = claim;
    if (claim.seq !== undefined) await publishStatus(this.deps.events, task, claim.seq, 'queued', this.deps.clock.now());
    const lease = new LeaseKeeper(this.deps, this.options, message, task.id, leaseToken);
    const held: HeldJob = { taskId: task.id, leaseToken, message, lease, released: false };
    this.held.set(leaseToken, held);
    await this.protection.acquire();
    lease.start();
    const started = Date.now();
    try {
      const seq = claim.seq ?? (await lastSeq(db, task.id));
      const pages = await this.runPages(task, leaseToken, seq, lease.signal);
      if (held.released) return 'released';
      lease.throwIfLost();
      return await this.finish(task, leaseToken, pages, message, Date.now() - started);
    } catch (error) {
      if (held.released) return 'released';
      return await this.onJobError(error, task, leaseToken, message, lease);
    } finally {
      this.held.delete(leaseToken);
      lease.stop();
      await this.protection.release();
    }
  }

  /** Rasterizes and recognizes every page not checkpointed yet; returns all pages in order. */
  private async runPages(task: TaskRecord, leaseToken: string, seq: number, leaseSignal: AbortSignal): Promise<OcrPage[]> {
    const found = await findTaskWithUpload(this.deps.db, task.id);
    if (!found) throw new LeaseLostError();
    const document = await this.openDocument(found.upload);
    try {
      const pageCount = document.pageCount;
      if (pageCount < 1) throw new PermanentJobError(taskError('corrupt_document'));
      const pages = await this.loadCheckpoints(task.resultsPrefix, pageCount);
      let done = pages.filter((p) => p !== undefined).length;
      const progress = new ProgressReporter(this.deps, this.options.progressIntervalMs, task, leaseToken, seq);
      if (done > 0) this.deps.logger.info('Resuming from checkpoints', { taskId: task.id, pagesDone: done, pageCount });

      // One signal per job, and one page of the job waiting for the pool at a time: an abort
      // listener per waiting page would pile up (MaxListenersExceededWarning past 10), and
      // waiting in turn lets concurrent jobs take free slots alternately.
      const signal = AbortSignal.any([leaseSignal, this.shutdown.signal]);
      // The engine stops a page it is on only for a lost lease or a drain out of time.
      const engineSignal = AbortSignal.any([leaseSignal, this.abandon.signal]);
      // Stops starting pages of this job once the model server failed one: the rest would fail as well.
      const serverFailed = new AbortController();
      const starting = AbortSignal.any([signal, serverFailed.signal]);
      const running: Array<Promise<void>> = [];
      const failures: unknown[] = [];
      for (let n = 1; n <= pageCount; n += 1) {
        if (pages[n - 1]) continue;
        let release: () => void;
        try {
          release = await this.pool.slot(starting);
        } catch (error) {
          failures.push(error); // aborted: pages not started yet are dropped
          break;
        }
        const page = n;
        const work = async (): Promise<void> => {
          starting.throwIfAborted();
          const image = await document.render(page);
          const result = await this.recognize(image, document, task.id, engineSignal);
          // A lost lease may mean a deleted task, whose prefix was just erased: write nothing more
          // (what an earlier page wrote since is erased once the pages settle, in onLeaseLost).
          if (leaseSignal.aborted) return;
          // Before the checkpoint: a checkpointed page then has its preview (resumes skip both).
          if (this.options.pagePreviews) await this.storePreview(task.resultsPrefix, image, result);
          if (leaseSignal.aborted) return;
          await this.deps.objects.put({
            key: pageCheckpointKey({ prefix: task.resultsPrefix, page }),
            body: JSON.stringify(result),
            contentType: 'application/json',
          });
          pages[page - 1] = result;
          done += 1;
          progress.pageDone(done, pageCount);
        };
        // Other pages go on after one fails: each checkpoint spares the next attempt that page.
        const failed = (error: unknown): void => {
          failures.push(error);
          if (error instanceof ModelServerError) serverFailed.abort(error);
        };
        running.push(work().catch(failed).finally(release));
      }
      await Promise.all(running);
      await progress.flush();
      if (leaseSignal.aborted) throw new LeaseLostError();
      // The server failure first: a shutdown abort pushed before it must not turn it into a clean release.
      if (serverFailed.signal.aborted) throw serverFailed.signal.reason;
      if (failures.length > 0) throw failures[0];
      return pages as OcrPage[];
    } finally {
      await document.close();
    }
  }

  private async openDocument(upload: UploadRef): Promise<RasterDocument> {
    const object = await this.deps.objects.get(upload.s3Key);
    if (!object) throw new PermanentJobError(taskError('upload_missing'));
    await this.recheck(object.body, upload);
    try {
      return await openRasterDocument(object.body, upload.contentType, {
        maxInputPixels: this.options.maxImagePixels,
        ...this.options.raster,
      });
    } catch (error) {
      this.deps.logger.warn('Opening the document failed', { error: errorSummary(error) });
      throw new PermanentJobError(taskError('corrupt_document'));
    }
  }

  /**
   * Before any OCR, the checks intake made on byte ranges and S3's checksum, now on the bytes in
   * hand: the object may have been overwritten since (a still-valid upload URL), and the pixel
   * and page limits may be stricter here. Cheap next to OCR, and a failure is final.
   */
  private async recheck(bytes: Uint8Array, upload: UploadRef): Promise<void> {
    if (bytes.byteLength !== upload.size) {
      throw new PermanentJobError(taskError('size_mismatch', { actual: bytes.byteLength, declared: upload.size }));
    }
    if (createHash('sha256').update(bytes).digest('hex') !== upload.sha256.toLowerCase()) {
      throw new PermanentJobError(taskError('checksum_mismatch'));
    }
    const probe = await probeBytes(bytes, upload.contentType, { maxPages: this.options.maxPages, maxImagePixels: this.options.maxImagePixels });
    if (!probe.ok) throw new PermanentJobError(probe);
  }

  private async recognize(image: PageImage, document: RasterDocument, taskId: string, signal: AbortSignal): Promise<OcrPage> {
    try {
      return await readWith(this.deps.engine, image, signal);
    } catch (error) {
      if (!(error instanceof PageFailedError)) throw error;
      if (FAILURE_KINDS[error.reason] === 'answer') return this.readFallback(image, document, taskId, error, signal);
      this.deps.logger.error(LOG_MODEL_SERVER_FAILED, { taskId, page: image.page, engine: error.engine, reason: error.reason, attempts: error.attempts });
      throw new ModelServerError(image.page, error);
    }
  }

  /**
   * A page the engine gave up on is read from the PDF's own text layer (the document's exact
   * text, and no engine work) when the layer covers the page's ink, else from the fallback engine
   * (kept over a thin layer only when it read more letters), and marked as such in the JSON.
   * With neither, the attempt fails (`ocr_failed` once no attempt is left).
   */
  private async readFallback(image: PageImage, document: RasterDocument, taskId: string, failure: PageFailedError, signal: AbortSignal): Promise<OcrPage> {
    const { logger, fallback: engine } = this.deps;
    let layer: OcrPage | null = null;
    try {
      layer = await document.textLayer(image.page);
    } catch (error) {
      logger.warn('Reading the text layer failed', { taskId, page: image.page, error: errorSummary(error) });
    }
    const coverage = layer ? inkCoverage(image, layer.blocks.map((b) => b.bbox)) : null;
    let page = layer;
    if (engine && (!layer || (coverage !== null && coverage < MIN_TEXT_LAYER_COVERAGE))) {
      const read = await this.readWithFallbackEngine(engine, image, taskId, signal);
      if (read && (!layer || pageLetters(read) > pageLetters(layer))) page = read;
    }
    if (!page) throw new PageUnreadError(image.page, failure);
    logger.warn(LOG_PAGE_FALLBACK, {
      taskId,
      page: image.page,
      from: failure.engine,
      fallbackReason: failure.reason,
      attempts: failure.attempts,
      engine: page.engine,
      ...(coverage !== null ? { textLayerCoverage: Math.round(coverage * 100) / 100 } : {}),
    });
    return { ...page, fallback: { from: failure.engine, reason: failure.reason, attempts: failure.attempts } };
  }

  /** The fallback engine's reading; null for a page it cannot decode either (no fallback, not a corrupt document). */
  private async readWithFallbackEngine(engine: OcrEngine, image: PageImage, taskId: string, signal: AbortSignal): Promise<OcrPage | null> {
    try {
      return await engine.recognize(image, { signal });
    } catch (error) {
      if (!(error instanceof UnreadablePageError)) throw error;
      this.deps.logger.warn('The fallback engine could not decode the page', { taskId, page: image.page, engine: engine.name });
      return null;
    }
  }

  /** The viewer's page image; best effort, since the text result does not depend on it. */
  private async storePreview(prefix: string, image: PageImage, result: OcrPage): Promise<void> {
    try {
      await this.deps.objects.put({
        key: pagePreviewKey({ prefix, page: result.page }),
        body: await renderPagePreview(image, result.rotation),
        contentType: PREVIEW_CONTENT_TYPE,
      });
    } catch (error) {
      this.deps.logger.warn('Storing the page preview failed', { page: result.page, error: errorSummary(error) });
    }
  }

  private async loadCheckpoints(prefix: string, pageCount: number): Promise<Array<OcrPage | undefined>> {
    const pages: Array<OcrPage | undefined> = new Array(pageCount).fill(undefined);
    let next = 1;
    const reader = async (): Promise<void> => {
      while (next <= pageCount) {
        const n = next;
        next += 1;
        const object = await this.deps.objects.get(pageCheckpointKey({ prefix, page: n }));
        if (!object) continue;
        const parsed = checkpointSchema.safeParse(safeJson(object.body));
        // A damaged checkpoint is redone, not trusted.
        if (parsed.success && parsed.data.page === n) pages[n - 1] = parsed.data as OcrPage;
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, pageCount) }, reader));
    return pages;
  }

  private async finish(task: TaskRecord, leaseToken: string, pages: OcrPage[], message: QueueMessage, processingMs: number): Promise<JobOutcome> {
    const { db, objects, jobs, events, clock } = this.deps;
    const doc = assembleDocument(pages);
    const keys = resultKeys({ prefix: task.resultsPrefix, taskId: task.id, at: clock.now() });
    await Promise.all([
      objects.put({ key: keys.htmlKey, body: doc.html, contentType: 'text/html; charset=utf-8' }),
      objects.put({ key: keys.textKey, body: doc.text, contentType: 'text/plain; charset=utf-8' }),
      objects.put({ key: keys.jsonKey, body: JSON.stringify(doc.json), contentType: 'application/json' }),
    ]);
    const outcome = await completeTask(db, {
      taskId: task.id,
      leaseToken,
      result: {
        ...keys,
        text: doc.text,
        confidence: doc.confidence,
        wordCount: doc.wordCount,
        pageCount: pages.length,
        processingMs: Math.round(processingMs),
        model: doc.model || this.deps.engine.name,
      },
    });
    if (outcome.applied) {
      await events.publish({
        version: 1,
        seq: outcome.seq,
        taskId: task.id,
        userId: task.ownerId,
        status: 'completed',
        previousStatus: 'processing',
        pagesDone: outcome.task.pagesDone,
        pageCount: outcome.task.pageCount,
        occurredAt: clock.now().toISOString(),
      });
      await jobs.delete(message.receiptHandle);
      this.deps.logger.info('Task completed', { taskId: task.id, pageCount: pages.length, processingMs: Math.round(processingMs) });
      return 'completed';
    }
    // Not ours to record: erase what this attempt wrote (the task was deleted, or another attempt won).
    if (outcome.reason === 'deleted') await objects.deleteAllVersions({ prefix: task.resultsPrefix });
    else await Promise.all(Object.values(keys).map((key) => objects.deleteAllVersions({ key })));
    this.deps.logger.warn('Completion refused', { taskId: task.id, reason: outcome.reason });
    if (outcome.reason === 'lease_lost' || outcome.reason === 'not_processing') return 'lease_lost';
    await jobs.delete(message.receiptHandle);
    return 'deleted_message';
  }

  private async onJobError(error: unknown, task: TaskRecord, leaseToken: string, message: QueueMessage, lease: LeaseKeeper): Promise<JobOutcome> {
    const { db, logger } = this.deps;
    if (error instanceof LeaseLostError || lease.lost) return this.onLeaseLost(task, message);
    // A model-server failure counts as an attempt even during a shutdown: vLLM stays up through a
    // scale-in until the worker exits, so the failure is real, and a page that crashes the server
    // (whose exit is what sends the worker SIGTERM) must not be handed back forever uncounted.
    if (this.shutdown.signal.aborted && !(error instanceof PermanentJobError) && !(error instanceof ModelServerError)) {
      // Clean release: the attempt is given back and the next worker starts at once.
      await lease.settle();
      if (!(await releaseLease(db, { taskId: task.id, leaseToken }))) return this.onLeaseLost(task, message);
      await this.makeVisible(message);
      logger.info('Released the task on shutdown', { taskId: task.id });
      return 'released';
    }
    const permanent = error instanceof PermanentJobError;
    const lastAttempt = task.attempts >= task.maxAttempts;
    if (permanent || lastAttempt) {
      const { code, message: text } = permanent ? error : error instanceof PageUnreadError ? taskError('ocr_failed', { page: error.page }) : taskError('processing_error');
      logger.warn('Failing the task', { taskId: task.id, errorCode: code, attempts: task.attempts, error: errorSummary(error) });
      lease.stop();
      const moved = await transitionTask(db, { taskId: task.id, from: 'processing', to: 'failed', errorCode: code, errorMessage: text, leaseToken });
      if (moved.applied) await publishStatus(this.deps.events, moved.task, moved.seq, 'processing', this.deps.clock.now());
      await this.deps.jobs.delete(message.receiptHandle);
      return 'failed';
    }
    // Retryable: the attempt counts; the message comes back once the lease has run out.
    logger.warn('Job attempt failed; it will be retried', { taskId: task.id, attempts: task.attempts, error: errorSummary(error) });
    lease.stop();
    await this.hide(message, Math.max(this.options.retryDelaySeconds, this.options.leaseSeconds));
    return 'retry';
  }

  /**
   * Runs once every page of the attempt has settled. A task deleted under the job had its prefix
   * erased by DELETE while pages were still in flight: what they wrote since (checkpoints hold
   * document text, previews page images) is erased here, and the message of the now terminal task
   * is deleted. Any other loss means another claim owns the task: its message is not ours to touch.
   */
  private async onLeaseLost(task: TaskRecord, message: QueueMessage): Promise<JobOutcome> {
    const now = await findTaskById(this.deps.db, task.id);
    if (now === null || now.status === 'deleted') {
      await this.deps.objects.deleteAllVersions({ prefix: task.resultsPrefix });
      await this.deps.jobs.delete(message.receiptHandle);
      this.deps.logger.warn('The task was deleted during the job; erased what the job wrote', { taskId: task.id });
      return 'deleted_message';
    }
    this.deps.logger.warn('Lease lost; abandoning the job', { taskId: task.id });
    return 'lease_lost';
  }

  private async failExhausted(taskId: string): Promise<void> {
    const exhausted = taskError('attempts_exhausted');
    const failure = { taskId, errorCode: exhausted.code, errorMessage: exhausted.message };
    let moved = await failAbandonedTask(this.deps.db, failure);
    if (!moved.applied) moved = await transitionTask(this.deps.db, { ...failure, from: 'queued', to: 'failed' });
    if (moved.applied) {
      const history = await getTaskHistory(this.deps.db, taskId);
      const previous = history.length > 1 ? history[history.length - 2]!.toStatus : null;
      await publishStatus(this.deps.events, moved.task, moved.seq, previous, this.deps.clock.now());
    }
  }

  private async hide(message: QueueMessage, seconds: number): Promise<void> {
    try {
      await this.deps.jobs.changeVisibility(message.receiptHandle, Math.min(43_200, Math.max(0, Math.round(seconds))));
    } catch (error) {
      this.deps.logger.warn('Changing message visibility failed', { error: errorSummary(error) });
    }
  }

  private makeVisible(message: QueueMessage): Promise<void> {
    return this.hide(message, 0);
  }
}

/** Heartbeats: renews the lease and the message's visibility; aborts the job if the lease is lost. */
class LeaseKeeper {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly options: WorkerOptions,
    private readonly message: QueueMessage,
    private readonly taskId: string,
    private readonly leaseToken: string,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  start(): void {
    this.timer = setInterval(() => this.beat(), this.options.heartbeatSeconds * 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops, and waits for a heartbeat in progress to end. */
  async settle(): Promise<void> {
    this.stop();
    await this.beating;
  }

  throwIfLost(): void {
    if (this.lost) throw new LeaseLostError();
  }

  private beat(): void {
    if (this.beating || !this.timer) return;
    this.beating = this.renew().finally(() => (this.beating = undefined));
  }

  private async renew(): Promise<void> {
    try {
      const renewed = await renewLease(this.deps.db, { taskId: this.taskId, leaseToken: this.leaseToken, leaseSeconds: this.options.leaseSeconds });
      if (!renewed.renewed) {
        this.controller.abort(new LeaseLostError());
        this.stop();
        return;
      }
      await this.deps.jobs.changeVisibility(this.message.receiptHandle, this.options.leaseSeconds);
    } catch (error) {
      // A missed beat is not a lost lease: the next one may succeed before the lease runs out.
      this.deps.logger.warn('Heartbeat failed', { taskId: this.taskId, error: errorSummary(error) });
    }
  }
}

/**
 * Throttled progress: `pages_done` and a progress event at most once per interval (and for the
 * last page), reusing the seq of the task's move to `processing`. The page checkpoints, not
 * `pages_done`, are what a later attempt resumes from, so a skipped update loses nothing.
 */
class ProgressReporter {
  private lastSent = 0;
  private latest?: { done: number; pageCount: number };
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: WorkerDeps,
    private readonly intervalMs: number,
    private readonly task: TaskRecord,
    private readonly leaseToken: string,
    private readonly seq: number,
  ) {}

  pageDone(done: number, pageCount: number): void {
    this.latest = { done, pageCount };
    const now = Date.now();
    if (done < pageCount && now - this.lastSent < this.intervalMs) return;
    this.lastSent = now;
    this.chain = this.chain.then(() => this.send());
  }

  async flush(): Promise<void> {
    await this.chain;
  }

  private async send(): Promise<void> {
    const latest = this.latest;
    if (!latest) return;
    this.latest = undefined;
    try {
      const recorded = await recordPageDone(this.deps.db, {
        taskId: this.task.id,
        leaseToken: this.leaseToken,
        pagesDone: latest.done,
        pageCount: latest.pageCount,
      });
      if (recorded.applied) await publishStatus(this.deps.events, recorded.task, this.seq, 'processing', this.deps.clock.now());
    } catch (error) {
      this.deps.logger.warn('Recording progress failed', { taskId: this.task.id, error: errorSummary(error) });
    }
  }
}

/** `engine`'s reading of a page; a page no engine can decode fails the task at once. */
async function readWith(engine: OcrEngine, image: PageImage, signal: AbortSignal): Promise<OcrPage> {
  try {
    return await engine.recognize(image, { signal });
  } catch (error) {
    if (error instanceof UnreadablePageError) throw new PermanentJobError(taskError('corrupt_document'));
    throw error;
  }
}

async function lastSeq(db: Database, taskId: string): Promise<number> {
  const history = await getTaskHistory(db, taskId);
  return history[history.length - 1]?.id ?? 0;
}

function safeJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return null;
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
