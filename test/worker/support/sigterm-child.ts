/**
 * A worker process for the SIGTERM test: runs one job on a slow engine, prints `ready` once a page
 * is in the engine, and on SIGTERM stops through `runUntilSignal`, then prints the task and queue
 * state as JSON before exiting.
 */
import { systemClock } from '../../../src/adapters/clock';
import { intakeObject } from '../../../src/pipeline/intake';
import type { OcrEngine } from '../../../src/ocr/engine';
import { runUntilSignal } from '../../../inference-container/src/lifecycle';
import { Worker } from '../../../inference-container/src/worker';
import { textPdf } from '../../pipeline/support/documents';
import { pipelineHarness, silentLogger } from '../../pipeline/support/harness';

async function main(): Promise<void> {
  const h = await pipelineHarness();
  const { task, key } = await h.createTask(await textPdf([['a'], ['b'], ['c']]));
  await intakeObject({ key }, h.intakeDeps());
  let announced = false;
  const engine: OcrEngine = {
    name: 'slow',
    concurrency: 1,
    recognize: async (image) => {
      if (!announced) {
        announced = true;
        process.stdout.write('ready\n');
      }
      await new Promise((r) => setTimeout(r, 300));
      return { page: image.page, width: image.width, height: image.height, engine: 'slow', confidence: 1, rotation: 0, blocks: [] };
    },
    close: async () => undefined,
  };
  const worker = new Worker(
    { db: h.database.db, objects: h.objects, jobs: h.jobs, events: h.bus, engine, clock: systemClock, logger: silentLogger },
    { maxPagesInFlight: 1, pollWaitSeconds: 1, leaseSeconds: 60, raster: { dpi: 20 } },
  );
  runUntilSignal(worker, {
    onStopped: async () => {
      const t = await h.task(task.id);
      const depth = await h.jobs.approximateDepth();
      process.stdout.write(`${JSON.stringify({ status: t.status, attempts: t.attempts, leaseToken: t.leaseToken, pagesDone: t.pagesDone, depth })}\n`);
      await h.dispose();
    },
  });
}

void main();
