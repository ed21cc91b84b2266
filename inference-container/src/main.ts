/**
 * The worker process in its container. Environment:
 *
 * | variable | what |
 * | --- | --- |
 * | DB_HOST, DB_PORT, DB_NAME, DB_USER | Aurora, login role `untxt_worker` (IAM auth) |
 * | DOCUMENTS_BUCKET, JOBS_QUEUE_URL, EVENT_BUS_NAME | the pipeline's bucket, jobs queue and bus |
 * | MAX_PAGES_IN_FLIGHT (32) | pages the engine works on at once: the Qwen engine's requests in flight, which vLLM batches (its --max-num-seqs) |
 * | MAX_PAGES_PREPARED (⌈1.5 × MAX_PAGES_IN_FLIGHT⌉) | the worker's page pool, from rendering to checkpoint; at least MAX_PAGES_IN_FLIGHT |
 * | MAX_JOBS (8), LEASE_SECONDS (120), HEARTBEAT_SECONDS (30) | tuning |
 * | MAX_PAGES (3000), MAX_IMAGE_PIXELS (150,000,000) | limits re-checked before OCR (as intake's) |
 * | PAGE_PREVIEWS (true) | `false` stores no page previews (saves CPU beside rasterization) |
 * | OCR_ENGINE (qwen-vllm) | `qwen-vllm` (Qwen3-VL on the vLLM beside the worker) or `tesseract` (CPU) |
 * | VLLM_BASE_URL (http://127.0.0.1:8000/v1), MODEL_ID | vLLM's OpenAI base URL and served model name (MODEL_ID required for qwen-vllm) |
 * | OCR_MAX_TOKENS (the Qwen engine's `maxTokens` default) | tokens one page may generate per attempt; at most what VLLM_MAX_MODEL_LEN leaves beside the page image and prompt |
 * | OCR_FALLBACK (tesseract) | `tesseract` or `none`: reads a page the model failed when the page has no PDF text layer |
 * | VLLM_MAX_PIXELS (2,500,000) | pixel bound of a page image (as vLLM is started with) |
 * | VLLM_MAX_MODEL_LEN (16384) | vLLM's context (as the entrypoint starts it with): bounds the token caps |
 * | ECS_CONTAINER_METADATA_URI_V4 | set by ECS: enables task scale-in protection per job |
 *
 * The Qwen engine keeps MAX_PAGES_IN_FLIGHT requests in flight, so vLLM batches pages across jobs.
 * The page pool is larger because a pool slot also covers CPU work around the request (rendering,
 * the orientation pass, checkpoint and preview writes): with equal sizes the batch would run short.
 * Details of the OCR variables: `engine-from-env.ts`.
 */
import { pipelinePorts, pipelineRuntime, positiveInt } from '../../lambdas/intake/runtime';
import { createOcrEngines, ocrConfigFromEnv, pagePoolSize } from './engine-from-env';
import { runUntilSignal } from './lifecycle';
import { scaleInProtectionFromEnv } from './scale-in-protection';
import { DEFAULT_WORKER_OPTIONS, Worker, type WorkerOptions } from './worker';

async function main(): Promise<void> {
  const env = process.env;
  const runtime = pipelineRuntime('untxt-worker');
  const ocr = ocrConfigFromEnv(env);
  // Every other variable is checked before the engines start (Tesseract takes seconds to load).
  const engineConcurrency = positiveInt(env, 'MAX_PAGES_IN_FLIGHT', DEFAULT_WORKER_OPTIONS.maxPagesInFlight);
  const options: Partial<WorkerOptions> = {
    maxPagesInFlight: pagePoolSize(env, engineConcurrency),
    maxJobs: positiveInt(env, 'MAX_JOBS', DEFAULT_WORKER_OPTIONS.maxJobs),
    leaseSeconds: positiveInt(env, 'LEASE_SECONDS', DEFAULT_WORKER_OPTIONS.leaseSeconds),
    heartbeatSeconds: positiveInt(env, 'HEARTBEAT_SECONDS', DEFAULT_WORKER_OPTIONS.heartbeatSeconds),
    maxPages: positiveInt(env, 'MAX_PAGES', DEFAULT_WORKER_OPTIONS.maxPages),
    maxImagePixels: positiveInt(env, 'MAX_IMAGE_PIXELS', DEFAULT_WORKER_OPTIONS.maxImagePixels),
    pagePreviews: pagePreviewsFromEnv(env.PAGE_PREVIEWS),
    raster: { maxPixels: ocr.maxPagePixels },
  };
  const ports = { ...pipelinePorts(runtime), protection: scaleInProtectionFromEnv(env) };
  const engines = await createOcrEngines(ocr, { concurrency: engineConcurrency, logger: runtime.logger });
  runtime.logger.info('OCR engines ready', { engine: engines.engine.name, fallback: engines.fallback?.name ?? 'none' });
  const worker = new Worker({ ...ports, engine: engines.engine, ...(engines.fallback ? { fallback: engines.fallback } : {}) }, options);
  runUntilSignal(worker, {
    onStopped: async () => {
      await engines.close();
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
