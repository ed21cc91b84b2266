/**
 * The worker process in its container. Environment:
 *
 * | variable | what |
 * | --- | --- |
 * | DB_HOST, DB_PORT, DB_NAME, DB_USER | Aurora, login role `untxt_worker` (IAM auth) |
 * | DOCUMENTS_BUCKET, JOBS_QUEUE_URL, EVENT_BUS_NAME | the pipeline's bucket, jobs queue and bus |
 * | MAX_PAGES_IN_FLIGHT (32), MAX_JOBS (8), LEASE_SECONDS (120), HEARTBEAT_SECONDS (30) | tuning |
 * | MAX_PAGES (3000), MAX_IMAGE_PIXELS (150,000,000) | limits re-checked before OCR (as intake's) |
 * | PAGE_PREVIEWS (true) | `false` stores no page previews (saves CPU beside rasterization) |
 * | ECS_CONTAINER_METADATA_URI_V4 | set by ECS: enables task scale-in protection per job |
 *
 * The engine is Tesseract until the Qwen3-VL engine (vLLM on 127.0.0.1) lands.
 */
import { TesseractEngine } from '../../src/ocr/tesseract-engine';
import { pipelineRuntime, positiveInt } from '../../lambdas/intake/runtime';
import { runUntilSignal } from './lifecycle';
import { scaleInProtectionFromEnv } from './scale-in-protection';
import { DEFAULT_WORKER_OPTIONS, Worker } from './worker';

async function main(): Promise<void> {
  const env = process.env;
  const runtime = pipelineRuntime('untxt-worker');
  const engine = await TesseractEngine.create();
  const worker = new Worker(
    {
      db: runtime.db(),
      objects: runtime.objects(),
      jobs: runtime.jobs(),
      events: runtime.events(),
      engine,
      clock: runtime.clock,
      logger: runtime.logger,
      protection: scaleInProtectionFromEnv(env),
    },
    {
      maxPagesInFlight: positiveInt(env, 'MAX_PAGES_IN_FLIGHT', 32),
      maxJobs: positiveInt(env, 'MAX_JOBS', 8),
      leaseSeconds: positiveInt(env, 'LEASE_SECONDS', 120),
      heartbeatSeconds: positiveInt(env, 'HEARTBEAT_SECONDS', 30),
      maxPages: positiveInt(env, 'MAX_PAGES', DEFAULT_WORKER_OPTIONS.maxPages),
      maxImagePixels: positiveInt(env, 'MAX_IMAGE_PIXELS', DEFAULT_WORKER_OPTIONS.maxImagePixels),
      pagePreviews: pagePreviewsFromEnv(env.PAGE_PREVIEWS),
    },
  );
  runUntilSignal(worker, {
    onStopped: async () => {
      await engine.close();
      await runtime.db().close();
    },
  });
}

/** Only an explicit true/false is accepted, so a typo fails at start instead of silently picking one. */
function pagePreviewsFromEnv(value: string | undefined): boolean {
  if (value === undefined || value === '') return DEFAULT_WORKER_OPTIONS.pagePreviews;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new Error('PAGE_PREVIEWS must be true or false');
}

main().catch((error: unknown) => {
  process.stderr.write(`untxt worker failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
