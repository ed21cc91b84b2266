/**
 * The GPU engine: Qwen3-VL served by vLLM's OpenAI-compatible server on the same machine
 * (DESIGN "The GPU worker").
 *
 * One request per page: `POST {baseUrl}/chat/completions`, no system prompt, one user message
 * holding the page as a PNG data URI and then the text `qwenvl html` (Qwen3-VL's document-parsing
 * prompt). Each attempt caps its tokens and asks for log-probabilities (confidence). An attempt
 * fails on: a repetition loop in the text, any `finish_reason` but `stop`, an answer with no
 * usable block, an HTTP 5xx, a timeout or a broken connection. Failed attempts climb the
 * temperature ladder (greedy first, then some sampling, which usually breaks a loop); after the
 * last one the page throws `PageFailedError` and the worker reads it from another source. A 4xx
 * is the server refusing this request (e.g. more image tokens than `--max-model-len`): the same
 * request would be refused again, so it fails the page at once.
 *
 * Concurrency: `recognize` never waits for another page; at most `concurrency` requests are in
 * flight (the worker's page pool is the bound across jobs, this one only guards direct use), and
 * vLLM batches them. Node's fetch (undici) keeps connections alive and its default agent has no
 * per-origin connection limit, so N requests use N sockets at once.
 *
 * Privacy: logs carry page numbers, reasons, temperatures and status codes, never the answer.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { PageFailedError, type OcrBlock, type OcrEngine, type OcrPage, type PageFailureReason, type PageImage, type RecognizeOptions } from './engine';
import { answerConfidence } from './qwen-confidence';
import { parseQwenHtml } from './qwen-html';
import { DEFAULT_BLANK_CHECK, looksBlank, modelPng, type BlankCheck } from './qwen-image';
import { TesseractOrientationDetector, type OrientationDetector, type Rotation } from './qwen-orientation';
import { DEFAULT_REPETITION, findRepetition, type RepetitionOptions } from './qwen-repetition';

export interface QwenVllmEngineOptions {
  /** The server's OpenAI base URL, up to and including `/v1`. */
  baseUrl?: string;
  /** The served model name (vLLM's `--served-model-name`, by default the model id). */
  model: string;
  /** Cap on generated tokens per attempt; a page that needs more fails with `length`. */
  maxTokens?: number;
  /** Requests kept in flight at most. */
  concurrency?: number;
  /** One attempt per temperature, in order. */
  temperatures?: readonly number[];
  /** Per attempt, until the whole answer has arrived. */
  requestTimeoutMs?: number;
  /** Pause before the next attempt after a server error or timeout (a model answer retries at once). */
  retryDelayMs?: number;
  /**
   * Sent as `mm_processor_kwargs: {max_pixels}` with each request. vLLM's chat endpoint accepts
   * `mm_processor_kwargs` per request and passes it to the HF processor (vllm/entrypoints/openai/
   * protocol.py); for the Qwen-VL family vLLM maps `max_pixels` onto the image processor's
   * `size.longest_edge` (a pixel count). Left out by default: the worker already bounds page pixels
   * and the server's `--mm-processor-kwargs` sets the limit for all requests.
   */
  maxPixels?: number;
  /**
   * A detector to turn pages upright first (the caller closes it); `'none'` sends pages as they
   * are. Default: Tesseract, started on the first page and closed with the engine.
   */
  orientation?: OrientationDetector | 'none';
  /** `false` sends every page to the model, blank or not. */
  blankCheck?: BlankCheck | false;
  repetition?: RepetitionOptions;
  fetch?: typeof fetch;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

type Resolved = QwenVllmEngineOptions & Required<Pick<QwenVllmEngineOptions, 'baseUrl' | 'maxTokens' | 'concurrency' | 'temperatures' | 'requestTimeoutMs' | 'retryDelayMs'>>;

export const DEFAULT_QWEN_OPTIONS: Omit<Resolved, 'model'> = {
  baseUrl: 'http://127.0.0.1:8000/v1',
  maxTokens: 4096,
  concurrency: 32,
  temperatures: [0, 0.2, 0.5],
  requestTimeoutMs: 300_000,
  retryDelayMs: 1000,
};

const PROMPT = 'qwenvl html';

/** The parts of vLLM's chat completion this engine reads; anything else in it is ignored. */
const completionSchema = z.object({
  choices: z
    .array(
      z.object({
        finish_reason: z.string().nullable().optional(),
        message: z.object({ content: z.string().nullable().optional() }),
        logprobs: z
          .object({
            content: z
              .array(z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number().int()).nullable().optional() }))
              .nullable()
              .optional(),
          })
          .nullable()
          .optional(),
      }),
    )
    .max(1),
});
type Completion = z.infer<typeof completionSchema>;

/** One failed attempt: the reason, and whether another attempt may help. */
class AttemptFailed extends Error {
  constructor(
    readonly reason: PageFailureReason,
    readonly retryable: boolean,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(reason);
  }
}

export class QwenVllmEngine implements OcrEngine {
  readonly name: string;
  readonly concurrency: number;
  private readonly url: string;
  private readonly fetch: typeof fetch;
  private readonly orientation: OrientationDetector | null;
  /** The default detector is the engine's to close; one passed in belongs to the caller. */
  private readonly ownsOrientation: boolean;
  private readonly slots: Slots;
  private readonly closing = new AbortController();

  private constructor(private readonly options: Resolved) {
    if (options.temperatures.length === 0) throw new RangeError('temperatures must hold at least one value');
    this.name = `vllm/${options.model}`;
    this.concurrency = options.concurrency;
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.orientation = options.orientation === 'none' ? null : (options.orientation ?? new TesseractOrientationDetector());
    this.ownsOrientation = options.orientation === undefined;
    this.slots = new Slots(options.concurrency);
  }

  /** Synchronous: nothing is contacted until the first page (the server may still be loading). */
  static create(options: QwenVllmEngineOptions): QwenVllmEngine {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as QwenVllmEngineOptions;
    return new QwenVllmEngine({ ...DEFAULT_QWEN_OPTIONS, ...defined });
  }

  async recognize(image: PageImage, options: RecognizeOptions = {}): Promise<OcrPage> {
    const signal = options.signal ? AbortSignal.any([options.signal, this.closing.signal]) : this.closing.signal;
    signal.throwIfAborted();
    const blankCheck = this.options.blankCheck ?? DEFAULT_BLANK_CHECK;
    if (blankCheck && (await looksBlank(image, blankCheck))) return this.page(image.page, image, 0, null, []);
    const rotation = this.orientation ? await this.orientation.detect(image, signal) : 0;
    signal.throwIfAborted();
    const upright = await modelPng(image, rotation);
    const body = this.requestBody(upright.png);

    const { temperatures } = this.options;
    let last: AttemptFailed | undefined;
    let attempts = 0;
    for (const [i, temperature] of temperatures.entries()) {
      attempts += 1;
      try {
        const completion = await this.post({ ...body, temperature }, signal);
        return this.read(completion, image.page, upright, rotation);
      } catch (error) {
        if (!(error instanceof AttemptFailed)) throw error;
        last = error;
        this.options.logger?.warn('A page attempt failed', { page: image.page, attempt: i + 1, temperature, reason: error.reason, ...error.detail });
        if (!error.retryable) break;
        if (i + 1 < temperatures.length && (error.reason === 'server_error' || error.reason === 'timeout')) {
          await delay(this.options.retryDelayMs, signal);
        }
      }
    }
    throw new PageFailedError(this.name, last!.reason, attempts);
  }

  async close(): Promise<void> {
    this.closing.abort(new Error('The engine is closed'));
    if (this.ownsOrientation) await this.orientation?.close();
  }

  private requestBody(png: Buffer): Record<string, unknown> {
    return {
      model: this.options.model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } },
            { type: 'text', text: PROMPT },
          ],
        },
      ],
      max_tokens: this.options.maxTokens,
      logprobs: true,
      ...(this.options.maxPixels ? { mm_processor_kwargs: { max_pixels: this.options.maxPixels } } : {}),
    };
  }

  /** One HTTP exchange; throws AttemptFailed for whatever another attempt might fix or for a refusal. */
  private async post(body: Record<string, unknown>, signal: AbortSignal): Promise<Completion> {
    const release = await this.slots.take(signal);
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    try {
      let response: Response;
      try {
        response = await this.fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.any([signal, timeout]),
        });
      } catch (error) {
        throw this.transportFailure(error, signal, timeout);
      }
      if (response.status >= 400) {
        await response.body?.cancel().catch(() => undefined);
        const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
        throw new AttemptFailed('server_error', retryable, { status: response.status });
      }
      let json: unknown;
      try {
        json = await response.json();
      } catch (error) {
        throw this.transportFailure(error, signal, timeout);
      }
      const parsed = completionSchema.safeParse(json);
      if (!parsed.success) throw new AttemptFailed('server_error', true, { status: response.status, invalid: 'response body' });
      return parsed.data;
    } finally {
      release();
    }
  }

  /** Our own abort passes through as it is; a timeout or a broken connection is a failed attempt. */
  private transportFailure(error: unknown, signal: AbortSignal, timeout: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (timeout.aborted) return new AttemptFailed('timeout', true);
    return new AttemptFailed('server_error', true, { transport: error instanceof Error ? error.name : 'unknown' });
  }

  /** Judges one answer: a page, or AttemptFailed. */
  private read(completion: Completion, pageNumber: number, upright: { width: number; height: number }, rotation: Rotation): OcrPage {
    const choice = completion.choices[0];
    if (!choice) throw new AttemptFailed('empty', true);
    const answer = choice.message.content ?? '';
    const loop = findRepetition(answer, this.options.repetition ?? DEFAULT_REPETITION);
    if (loop) throw new AttemptFailed('repetition', true, { period: loop.period, repeats: loop.repeats });
    if (choice.finish_reason !== 'stop') throw new AttemptFailed(finishFailure(choice.finish_reason), true, { finishReason: choice.finish_reason ?? null });
    const parsed = parseQwenHtml(answer, upright);
    if (parsed.outcome === 'malformed') throw new AttemptFailed('malformed', true);
    const confidence = answerConfidence(answer, choice.logprobs?.content, parsed.blocks.map((b) => b.span));
    const blocks: OcrBlock[] = parsed.blocks.map((b, i) => ({ kind: b.kind, html: b.html, bbox: b.bbox, confidence: confidence.blocks[i] ?? null }));
    return this.page(pageNumber, upright, rotation, blocks.length > 0 ? confidence.page : null, blocks);
  }

  private page(page: number, size: { width: number; height: number }, rotation: Rotation, confidence: number | null, blocks: OcrBlock[]): OcrPage {
    return { page, width: size.width, height: size.height, engine: this.name, confidence, rotation, blocks };
  }
}

function finishFailure(reason: string | null | undefined): PageFailureReason {
  switch (reason) {
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    case 'abort':
      return 'server_error';
    default:
      return 'malformed';
  }
}

/** At most `size` holders at once, first come first served; a waiter leaves when its signal aborts. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('concurrency must be a positive integer');
    this.free = size;
  }

  async take(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.free > 0) this.free -= 1;
    else
      await new Promise<void>((resolve, reject) => {
        const grant = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          this.waiting.splice(this.waiting.indexOf(grant), 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(grant);
      });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    };
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
