/**
 * The pipeline in local mode: the same intake, sweeper and worker cores as in AWS, on the
 * in-process queues, with the Tesseract engine. Started by `startLocalService({pipeline: true})`
 * (what `npm start` does); stopped before the queues, bus and database close.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../src/adapters/clock';
import { errorSummary } from '../src/adapters/error-summary';
import type { InMemoryJobQueue } from '../src/adapters/local/in-memory-job-queue';
import type { Database } from '../src/db/database';
import type { OcrEngine } from '../src/ocr/engine';
import { DEFAULT_INTAKE_LIMITS, handleIntakeMessage, intakeObject, type IntakeDeps } from '../src/pipeline/intake';
import { endLiveLeases, findStaleAwaitingUpload, findTaskWithUpload } from '../src/db/repositories/tasks';
import { sweep, type SweeperDeps } from '../src/pipeline/sweeper';
import type { EventBus } from '../src/ports/event-bus';
import type { ObjectStore } from '../src/ports/object-store';
import { Worker, type WorkerOptions } from '../inference-container/src/worker';

export interface LocalPipelineDeps {
  db: Database;
  objects: ObjectStore;
  intakeQueue: InMemoryJobQueue;
  jobsQueue: InMemoryJobQueue;
  events: EventBus;
  logger: Logger;
  /** Defaults to a TesseractEngine (English and German). */
  engine?: OcrEngine;
  sweepIntervalMs?: number;
  worker?: Partial<WorkerOptions>;
  maxPages?: number;
  /** The API's daily page quota per user, which intake checks again once it has counted the pages. */
  maxPagesPerDay?: number;
}

export interface LocalPipeline {
  worker: Worker;
  /** Runs one sweep now (also done at start-up and every 5 minutes). */
  sweep(): Promise<void>;
  /** Stops polling, lets pages in the engine finish (checkpointed), releases leases, closes the engine. */
  stop(): Promise<void>;
}

export async function startLocalPipeline(deps: LocalPipelineDeps): Promise<LocalPipeline> {
  const logger = deps.logger;
  const engine = deps.engine ?? (await (await import('../src/ocr/tesseract-engine')).TesseractEngine.create());
  const intakeDeps: IntakeDeps = {
    db: deps.db,
    objects: deps.objects,
    jobs: deps.jobsQueue,
    events: deps.events,
    clock: systemClock,
    logger,
    limits: {
      ...DEFAULT_INTAKE_LIMITS,
      ...(deps.maxPages ? { maxPages: deps.maxPages } : {}),
      ...(deps.maxPagesPerDay ? { maxPagesPerDay: deps.maxPagesPerDay } : {}),
    },
  };

  const stopIntake = new AbortController();
  const intakeLoop = (async () => {
    while (!stopIntake.signal.aborted) {
      const messages = await deps.intakeQueue.receive({ waitSeconds: 20, signal: stopIntake.signal });
      for (const message of messages) {
        try {
          await handleIntakeMessage(message.body, intakeDeps);
          await deps.intakeQueue.delete(message.receiptHandle);
        } catch (error) {
          // Left in flight: the queue re-delivers it after its visibility timeout, as SQS would.
          logger.error('Local intake failed; the message will be retried', { error: errorSummary(error) });
        }
      }
    }
  })();

  const sweeperDeps: SweeperDeps = { ...intakeDeps, logger, intake: (key) => intakeObject({ key }, intakeDeps) };
  const runSweep = async (): Promise<void> => {
    try {
      await sweep(
        sweeperDeps,
        // Local queues live in memory: after a restart, jobs of leased tasks must be sent again.
        { resendExpiredLeases: true },
      );
    } catch (error) {
      logger.error('Local sweep failed', { error: errorSummary(error) });
    }
  };
  await recoverAfterRestart(sweeperDeps);
  const sweeper = setInterval(() => void runSweep(), deps.sweepIntervalMs ?? 5 * 60_000);
  sweeper.unref();

  const worker = new Worker(
    { db: deps.db, objects: deps.objects, jobs: deps.jobsQueue, events: deps.events, engine, clock: systemClock, logger },
    { maxPagesInFlight: Math.max(2, engine.concurrency * 2), ...deps.worker },
  );
  const polling = worker.start();

  let stopping: Promise<void> | undefined;
  return {
    worker,
    sweep: runSweep,
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(sweeper);
        stopIntake.abort();
        await intakeLoop.catch(() => undefined);
        await worker.stop();
        await polling;
        await engine.close();
      })()),
  };
}

/**
 * Start-up after a stop or a crash (kill -9, power loss). The queues live in memory, so every job
 * and intake message of the last run is gone: queued tasks of any age get their job again (the
 * periodic sweep waits 10 minutes, meant for messages lost while running), so do tasks left
 * `processing`, and uploads that arrived but were never taken in are taken in now. With PGlite
 * only this process can hold the data folder, so a lease still running belongs to a dead
 * process: it is ended, for the task to be claimed at once rather than after the lease runs out.
 * Claims and lease tokens keep any duplicate job from producing a second result.
 */
async function recoverAfterRestart(deps: SweeperDeps): Promise<void> {
  try {
    if (deps.db.kind === 'pglite') {
      await endLiveLeases(deps.db);
    }
    await sweep(deps, { resendExpiredLeases: true, queuedStaleSeconds: 0 });
    for (const task of await findStaleAwaitingUpload(deps.db, { olderThanSeconds: 0 })) {
      const found = await findTaskWithUpload(deps.db, task.id);
      if (found && (await deps.objects.getAttributes(found.upload.s3Key))) await deps.intake(found.upload.s3Key);
    }
  } catch (error) {
    deps.logger.error('Local recovery sweep failed', { error: errorSummary(error) });
  }
}
