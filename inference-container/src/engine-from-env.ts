/**
 * The worker's OCR engines from its environment: the primary engine and the fallback that reads a
 * page the primary failed on every attempt when the page has no PDF text layer.
 *
 * | variable | what |
 * | --- | --- |
 * | OCR_ENGINE (qwen-vllm) | `qwen-vllm`: Qwen3-VL on the vLLM beside the worker; `tesseract`: the CPU engine |
 * | VLLM_BASE_URL (http://127.0.0.1:8000/v1) | vLLM's OpenAI base URL |
 * | MODEL_ID | the served model name, e.g. `Qwen/Qwen3-VL-8B-Instruct` (required for qwen-vllm) |
 * | OCR_MAX_TOKENS (the Qwen engine's `maxTokens` default, within the context) | tokens one page may generate; a page needing more fails that attempt (`length`) |
 * | OCR_FALLBACK (tesseract) | `tesseract` or `none`: the engine for failed pages without a text layer |
 * | VLLM_MAX_PIXELS (2,500,000) | most pixels of a page image, as vLLM is started with: pages are rasterized within it |
 * | VLLM_MAX_MODEL_LEN (16384) | vLLM's context, as the entrypoint starts it with: the token caps stay within it |
 *
 * Every value is checked before anything starts: a typo stops the worker with a message naming
 * the variable, instead of a fleet of GPUs reading every page with the wrong engine.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import type { OcrEngine } from '../../src/ocr/engine';
import { TesseractOrientationDetector, type OrientationDetector } from '../../src/ocr/qwen-orientation';
import { DEFAULT_QWEN_OPTIONS, QwenVllmEngine } from '../../src/ocr/qwen-vllm-engine';
import { TesseractEngine, type TesseractEngineOptions } from '../../src/ocr/tesseract-engine';
import { DEFAULT_MAX_PAGE_PIXELS } from '../../src/pipeline/rasterize';
import { answerTokenCeiling, DEFAULT_VLLM_MAX_MODEL_LEN } from './vllm-limits';

type Env = Readonly<Record<string, string | undefined>>;

/** An empty variable (ECS passes `""` for a blank value) counts as unset. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());
const positiveInt = z.coerce.number().int().positive();

const ocrEnvSchema = z.object({
  OCR_ENGINE: optional(z.enum(['qwen-vllm', 'tesseract'])),
  VLLM_BASE_URL: optional(z.url({ protocol: /^https?$/ })),
  MODEL_ID: optional(z.string().trim().min(1)),
  OCR_MAX_TOKENS: optional(positiveInt),
  OCR_FALLBACK: optional(z.enum(['tesseract', 'none'])),
  VLLM_MAX_PIXELS: optional(positiveInt),
  VLLM_MAX_MODEL_LEN: optional(positiveInt),
});

export type OcrEngineConfig =
  | {
      engine: 'qwen-vllm';
      baseUrl: string;
      model: string;
      maxTokens: number;
      /** The cap for the retry of a page cut off at `maxTokens`; within vLLM's context, like `maxTokens`. */
      maxTokensCeiling: number;
      fallback: 'tesseract' | 'none';
      maxPagePixels: number;
    }
  | { engine: 'tesseract'; fallback: 'none'; maxPagePixels: number };

const invalid = (problems: string[]) => new Error(`invalid OCR configuration: ${problems.join('; ')}`);

/** Parses and checks the OCR variables; throws one error naming every bad variable. */
export function ocrConfigFromEnv(env: Env): OcrEngineConfig {
  const parsed = ocrEnvSchema.safeParse(env);
  if (!parsed.success) throw invalid(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  const e = parsed.data;
  const maxPagePixels = e.VLLM_MAX_PIXELS ?? DEFAULT_MAX_PAGE_PIXELS;
  // The CPU engine never gives a page up (it has no attempts to exhaust), so it needs no fallback.
  if (e.OCR_ENGINE === 'tesseract') return { engine: 'tesseract', fallback: 'none', maxPagePixels };
  if (!e.MODEL_ID) throw invalid(['MODEL_ID: is not set (the model vLLM serves, e.g. Qwen/Qwen3-VL-8B-Instruct)']);
  const caps = tokenCaps(e.OCR_MAX_TOKENS, e.VLLM_MAX_MODEL_LEN ?? DEFAULT_VLLM_MAX_MODEL_LEN, maxPagePixels);
  return {
    engine: 'qwen-vllm',
    baseUrl: e.VLLM_BASE_URL ?? DEFAULT_QWEN_OPTIONS.baseUrl,
    model: e.MODEL_ID,
    ...caps,
    fallback: e.OCR_FALLBACK ?? 'tesseract',
    maxPagePixels,
  };
}

/**
 * The Qwen engine's token caps, kept within vLLM's context: a request whose image and cap exceed
 * `--max-model-len` is refused (400), and every page would quietly go to the fallback. The
 * engine's defaults are lowered to fit a smaller context; an OCR_MAX_TOKENS that cannot fit stops
 * the worker instead.
 */
function tokenCaps(requested: number | undefined, maxModelLen: number, maxPixels: number): { maxTokens: number; maxTokensCeiling: number } {
  const ceiling = answerTokenCeiling(maxModelLen, maxPixels);
  const context = `VLLM_MAX_MODEL_LEN ${maxModelLen} less the image tokens of VLLM_MAX_PIXELS ${maxPixels} and the prompt`;
  if (ceiling < 1) throw invalid([`VLLM_MAX_MODEL_LEN: leaves no tokens for an answer (${context})`]);
  if (requested !== undefined && requested > ceiling) throw invalid([`OCR_MAX_TOKENS: must be at most ${ceiling} (${context})`]);
  const maxTokens = Math.min(requested ?? DEFAULT_QWEN_OPTIONS.maxTokens, ceiling);
  // Never below maxTokens: the retry of a page cut off at the cap only ever raises it.
  const maxTokensCeiling = Math.max(maxTokens, Math.min(DEFAULT_QWEN_OPTIONS.maxTokensCeiling, ceiling));
  return { maxTokens, maxTokensCeiling };
}

/** Page pool slots per page in the engine: the extra half covers pages being rendered, turned upright or stored. */
export const PAGES_PREPARED_PER_ENGINE_PAGE = 1.5;

/**
 * The worker's page pool size: MAX_PAGES_PREPARED, else ⌈1.5 × the engine's concurrency⌉. A pool
 * slot covers a page from rendering to checkpoint, so a pool no larger than the engine's
 * concurrency would leave the model's batch short whenever pages are on the CPU.
 */
export function pagePoolSize(env: Env, engineConcurrency: number): number {
  const pool = optional(positiveInt).safeParse(env.MAX_PAGES_PREPARED);
  if (!pool.success) throw new Error('invalid worker configuration: MAX_PAGES_PREPARED: must be a positive integer');
  const size = pool.data ?? Math.ceil(engineConcurrency * PAGES_PREPARED_PER_ENGINE_PAGE);
  // A smaller pool could never fill the engine's batch: a setting that only idles the GPU.
  if (size < engineConcurrency) throw new Error(`invalid worker configuration: MAX_PAGES_PREPARED: must be at least MAX_PAGES_IN_FLIGHT (${engineConcurrency})`);
  return size;
}

export interface OcrEngines {
  engine: OcrEngine;
  fallback?: OcrEngine;
  /** Closes both engines and the Qwen engine's orientation detector (pending pages are rejected). */
  close(): Promise<void>;
}

export interface EngineFactories {
  qwen(options: Parameters<typeof QwenVllmEngine.create>[0]): OcrEngine;
  tesseract(options: TesseractEngineOptions): Promise<OcrEngine>;
  /** The Qwen engine's orientation detector, started (its workers ready). */
  orientation(): Promise<OrientationDetector>;
}

const DEFAULT_FACTORIES: EngineFactories = {
  qwen: (options) => QwenVllmEngine.create(options),
  tesseract: (options) => TesseractEngine.create(options),
  // Its own English-only workers, as the engine's default detector has: the fallback's small pool
  // (and its languages) would change how fast, and how, every page is turned upright.
  orientation: () => TesseractOrientationDetector.start(),
};

/**
 * The fallback's Tesseract workers: a failed page is rare, and the CPU beside the GPU is busy
 * rasterizing and turning pages upright, so a small pool is enough.
 */
const FALLBACK_TESSERACT_WORKERS = 2;

/**
 * Starts the engines `config` names. `concurrency` is MAX_PAGES_IN_FLIGHT (vLLM's --max-num-seqs):
 * the Qwen engine keeps as many requests in flight, so vLLM batches them.
 */
export async function createOcrEngines(
  config: OcrEngineConfig,
  options: { concurrency: number; logger?: Pick<Logger, 'info' | 'warn'> },
  factories: EngineFactories = DEFAULT_FACTORIES,
): Promise<OcrEngines> {
  if (config.engine === 'tesseract') {
    const engine = await factories.tesseract({});
    return { engine, close: () => engine.close() };
  }
  // Both started now, not on the first page: missing language data stops the worker at start, and
  // the first pages do not wait for Tesseract workers to load.
  const [orientation, fallback] = await Promise.allSettled([
    factories.orientation(),
    config.fallback === 'tesseract' ? factories.tesseract({ workers: FALLBACK_TESSERACT_WORKERS }) : Promise.resolve(undefined),
  ]);
  if (orientation.status === 'rejected' || fallback.status === 'rejected') {
    await Promise.all([orientation.status === 'fulfilled' && orientation.value.close(), fallback.status === 'fulfilled' && fallback.value?.close()]);
    throw orientation.status === 'rejected' ? orientation.reason : (fallback as PromiseRejectedResult).reason;
  }
  // The detector is passed in, so it is ours to close, not the engine's.
  const engine = factories.qwen({
    baseUrl: config.baseUrl,
    model: config.model,
    maxTokens: config.maxTokens,
    maxTokensCeiling: config.maxTokensCeiling,
    concurrency: options.concurrency,
    orientation: orientation.value,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return {
    engine,
    ...(fallback.value ? { fallback: fallback.value } : {}),
    close: async () => {
      await Promise.all([engine.close(), fallback.value?.close(), orientation.value.close()]);
    },
  };
}
