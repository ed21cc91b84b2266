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
import { sweep } from '../src/pipeline/sweeper';
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
    limits: { ...DEFAULT_INTAKE_LIMITS, ...(deps.maxPages ? { maxPages: deps.maxPages } : {}) },
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

  const runSweep = async (): Promise<void> => {
    try {
      await sweep(
        { ...intakeDeps, logger, intake: (key) => intakeObject({ key }, intakeDeps) },
        // Local queues live in memory: after a restart, jobs of leased tasks must be sent again.
        { resendExpiredLeases: true },
      );
    } catch (error) {
      logger.error('Local sweep failed', { error: errorSummary(error) });
    }
  };
  await runSweep();
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
