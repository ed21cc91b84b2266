/**
 * The GPU engine: Qwen3-VL served by vLLM's OpenAI-compatible server on the same machine
 * (DESIGN "The GPU worker").
 *
 * One request per page: `POST {baseUrl}/chat/completions`, no system prompt, one user message
 * holding the page as a PNG data URI and then the text `qwenvl html` (Qwen3-VL's document-parsing
 * prompt). Each attempt caps its tokens and asks for log-probabilities (confidence).
 *
 * Two kinds of failure, told apart by `PageFailedError.reason` because the worker treats them
 * differently (DESIGN "The GPU worker"):
 * - The page's (`repetition`, `length`, `malformed`, `empty`, `content_filter`, `rejected`,
 *   `too_slow`): the model read the page and the reading is unusable, the server refused this
 *   page's request (any 400, 413 or 422: more image tokens than `--max-model-len`, an image it
 *   cannot decode, an aspect ratio the processor will not take), or the server kept failing this
 *   page alone (below). Another attempt may help a reading: a loop climbs the temperature ladder
 *   (greedy first, then some sampling, which usually breaks a loop); a cut-off without a loop is
 *   retried at the same temperature with `maxTokensCeiling` tokens. When the ladder is spent the
 *   worker reads the page from another source. A refusal is final at once: the same request
 *   would be refused again.
 * - The model server's (`server_error`: a 5xx, a 401/403/404 or other 4xx that no page causes, a
 *   broken connection, a body that is no chat completion; `timeout`): nothing about the page. A
 *   quick failure (5xx, 408, 429, a refused or broken connection, a bad body) is retried once at
 *   the same temperature, after `retryDelayMs`, or at once while the server is known to be
 *   failing (several failures in a row, none forgotten yet), so a dead server fails each page in
 *   two quick requests rather than a full ladder, and one blip never costs a page more than a
 *   retry. A timeout, which has already waited `requestTimeoutMs`, is not retried. The worker
 *   then gives the task back for a retry instead of reading pages another way.
 * - Telling the two apart by what else the server did meanwhile: a 5xx or a bad body that
 *   repeats on one page while other requests completed is this page's doing (`rejected`), and a
 *   timeout while others completed means a live server and a page too slow for it (`too_slow`).
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
import { PagePool } from './page-pool';
import { answerConfidence } from './qwen-confidence';
import { parseQwenHtml } from './qwen-html';
import { DEFAULT_BLANK_CHECK, looksBlank, modelPng, type BlankCheck } from './qwen-image';
import { TesseractOrientationDetector, type OrientationDetector, type Rotation } from './qwen-orientation';
import { DEFAULT_REPETITION, findLoopAtEnd, type RepetitionOptions } from './qwen-repetition';

export interface QwenVllmEngineOptions {
  /** The server's OpenAI base URL, up to and including `/v1`. */
  baseUrl?: string;
  /** The served model name (vLLM's `--served-model-name`, by default the model id). */
  model: string;
  /** Cap on generated tokens per attempt; an answer cut off at it is retried with `maxTokensCeiling`. */
  maxTokens?: number;
  /**
   * Cap for the retry of a page cut off at `maxTokens` without a loop; a page that needs more fails
   * with `length`. Generated tokens share `--max-model-len` with the prompt: keep it at most that
   * length less the image's tokens.
   */
  maxTokensCeiling?: number;
  /** Requests kept in flight at most. */
  concurrency?: number;
  /** One attempt per temperature, in order. */
  temperatures?: readonly number[];
  /** Per attempt, until the whole answer has arrived. */
  requestTimeoutMs?: number;
  /**
   * Pause before the retry after a quick server failure (a model answer retries at once); none
   * while the server is known to be failing (three failures in a row, the latest under 30 s old).
   */
  retryDelayMs?: number;
  /** Retries of a quick server failure per page (none after a timeout). */
  serverRetries?: number;
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
  /** Milliseconds now; for tests of how long a failing server is remembered. */
  now?: () => number;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

type Resolved = QwenVllmEngineOptions &
  Required<Pick<QwenVllmEngineOptions, 'baseUrl' | 'maxTokens' | 'maxTokensCeiling' | 'concurrency' | 'temperatures' | 'requestTimeoutMs' | 'retryDelayMs' | 'serverRetries'>>;

export const DEFAULT_QWEN_OPTIONS: Omit<Resolved, 'model'> = {
  baseUrl: 'http://127.0.0.1:8000/v1',
  // The token budget, from the container's defaults: `--max-model-len` 16384 holds the prompt and
  // the answer. The prompt is the page image, at most 2,500,000 pixels (VLLM_MAX_PIXELS, the
  // worker's raster bound), and Qwen3-VL gives one token per 32×32 pixels (16-pixel patches,
  // merged 2×2): about 2,450 tokens, plus a few dozen for the chat template and `qwenvl html`.
  // 8192 covers a dense page of tables (a 4096 cap cut those off) and leaves the retry room;
  // 12288 + ~2,500 stays under 16384 with ~1,500 to spare. A larger cap also lets a loop run
  // longer before it is cut, which is why the first attempt does not start at the ceiling.
  maxTokens: 8192,
  maxTokensCeiling: 12_288,
  concurrency: 32,
  temperatures: [0, 0.2, 0.5],
  // Long enough for the ceiling's 12,288 tokens at ~25 tokens/s a sequence in a full batch; a
  // request still running then is not retried: with no completion meanwhile the server is taken
  // for hung (the task is retried), else the page for too slow (it falls back).
  requestTimeoutMs: 600_000,
  retryDelayMs: 1000,
  serverRetries: 1,
};

const PROMPT = 'qwenvl html';

/**
 * The server is known to be failing after this many server failures in a row with no completion
 * between them: one blip is not enough, a dead server gets there within a couple of pages.
 */
const FAILING_AFTER = 3;
/**
 * A failing streak older than this is forgotten: an idle worker's last blip says nothing about the
 * server the next job meets.
 */
const FAILING_FORGET_MS = 30_000;

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

/**
 * Whose failure an attempt was, which decides the next attempt: `answer` the page's reading
 * (another temperature or more tokens may help), `server` the model server (retry once), `final`
 * a refusal the same request would meet again.
 */
type FailureKind = 'answer' | 'server' | 'final';

/** One failed attempt: the reason, and what kind of failure it was. */
class AttemptFailed extends Error {
  constructor(
    readonly reason: PageFailureReason,
    readonly kind: FailureKind,
    readonly detail: Record<string, unknown> = {},
    /** A failure this page's request alone may cause (a 5xx, a bad body), unlike a refused connection. */
    readonly pageSuspect = false,
  ) {
    super(reason);
  }
}

/**
 * A 400, 413 or 422 is a refusal of this request, and the requests differ only in their page: the
 * context length, an image it cannot load, Qwen's smart_resize refusing an aspect ratio over 200
 * (a 14400×50 pt page). Whatever the message says, another page would be accepted. What no page
 * causes (a wrong model name is a 404, a missing key a 401) is the server's.
 */
const PAGE_REFUSAL_STATUSES = new Set([400, 413, 422]);

export class QwenVllmEngine implements OcrEngine {
  readonly name: string;
  readonly concurrency: number;
  private readonly url: string;
  private readonly fetch: typeof fetch;
  private readonly orientation: OrientationDetector | null;
  /** The default detector is the engine's to close; one passed in belongs to the caller. */
  private readonly ownsOrientation: boolean;
  private readonly slots: PagePool;
  private readonly closing = new AbortController();
  private readonly now: () => number;
  /** Chat completions received, of any page: a request's failure while this rose was not the server's alone. */
  private completions = 0;
  /** Server failures since the last completion, and when the latest was: whether the server is known to be failing. */
  private failureStreak = 0;
  private lastFailureAt = 0;

  private constructor(private readonly options: Resolved) {
    if (options.temperatures.length === 0) throw new RangeError('temperatures must hold at least one value');
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
    this.name = `vllm/${options.model}`;
    this.concurrency = options.concurrency;
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.orientation = options.orientation === 'none' ? null : (options.orientation ?? new TesseractOrientationDetector());
    this.ownsOrientation = options.orientation === undefined;
    this.slots = new PagePool(options.concurrency);
    this.now = options.now ?? Date.now;
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

    const { temperatures, maxTokensCeiling } = this.options;
    let maxTokens = this.options.maxTokens;
    let serverRetries = this.options.serverRetries;
    let step = 0;
    let attempts = 0;
    let failure: AttemptFailed;
    /** Completions counted when this page's first attempt began that failed in a way the page may cause. */
    let completionsAtSuspectFailure: number | undefined;
    for (;;) {
      const temperature = temperatures[step]!;
      attempts += 1;
      const completionsBefore = this.completions;
      try {
        const completion = await this.post({ ...body, temperature, max_tokens: maxTokens }, signal);
        return this.read(completion, image.page, upright, rotation);
      } catch (error) {
        if (!(error instanceof AttemptFailed)) throw error;
        failure = error;
      }
      if (failure.kind === 'server') {
        if (failure.pageSuspect && completionsAtSuspectFailure !== undefined && this.completions > completionsAtSuspectFailure) {
          // The same failure again on this page while the server completed other requests: the
          // server fails this page, not every page (a request that makes it throw).
          failure = new AttemptFailed('rejected', 'final', { ...failure.detail, repeatedWhileOthersCompleted: true });
        } else {
          if (failure.pageSuspect) completionsAtSuspectFailure ??= completionsBefore;
          this.serverFailed();
        }
      }
      const serverRetry = failure.kind === 'server' && serverRetries > 0 && failure.reason !== 'timeout';
      // A server known to be failing still gets the page's one retry, only sooner: a single blip
      // must never cost the job an attempt, and a dead server still fails each page in moments.
      const retryDelayMs = serverRetry && !this.serverKnownFailing() ? this.options.retryDelayMs : 0;
      this.options.logger?.warn('A page attempt failed', {
        page: image.page,
        attempt: attempts,
        temperature,
        maxTokens,
        reason: failure.reason,
        ...failure.detail,
        ...(serverRetry ? { retryDelayMs } : {}),
      });
      if (failure.kind === 'final') break;
      if (failure.kind === 'server') {
        if (!serverRetry) break;
        serverRetries -= 1;
        await delay(retryDelayMs, signal);
        continue;
      }
      if (failure.reason === 'length' && maxTokens < maxTokensCeiling) {
        // Cut off, not looping: the same reading with more room is the likeliest to finish.
        maxTokens = maxTokensCeiling;
        continue;
      }
      step += 1;
      if (step === temperatures.length) break;
    }
    throw new PageFailedError(this.name, failure.reason, attempts);
  }

  /** Several server failures in a row and the latest recent: retries need not wait. */
  private serverKnownFailing(): boolean {
    return this.failureStreak >= FAILING_AFTER && this.now() - this.lastFailureAt < FAILING_FORGET_MS;
  }

  /** One more server failure in the streak; a streak whose latest failure is too old starts over. */
  private serverFailed(): void {
    const now = this.now();
    if (now - this.lastFailureAt >= FAILING_FORGET_MS) this.failureStreak = 0;
    this.failureStreak += 1;
    this.lastFailureAt = now;
  }

  /** Any completion shows a live server: the failing streak ends. */
  private completed(): void {
    this.completions += 1;
    this.failureStreak = 0;
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
      logprobs: true,
      ...(this.options.maxPixels ? { mm_processor_kwargs: { max_pixels: this.options.maxPixels } } : {}),
    };
  }

  /** One HTTP exchange; throws AttemptFailed for whatever another attempt might fix or for a refusal. */
  private async post(body: Record<string, unknown>, signal: AbortSignal): Promise<Completion> {
    const release = await this.slots.slot(signal);
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    const completionsBefore = this.completions;
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
        throw this.transportFailure(error, signal, timeout, completionsBefore);
      }
      if (response.status >= 400) throw await this.httpFailure(response);
      let json: unknown;
      try {
        json = await response.json();
      } catch (error) {
        // A body cut off mid-way is a broken connection; one that arrived whole but is no JSON is a bad body.
        if (signal.aborted || timeout.aborted || errorCode(error) !== 'SyntaxError') throw this.transportFailure(error, signal, timeout, completionsBefore);
        throw new AttemptFailed('server_error', 'server', { status: response.status, invalid: 'response body' }, true);
      }
      const parsed = completionSchema.safeParse(json);
      if (!parsed.success) throw new AttemptFailed('server_error', 'server', { status: response.status, invalid: 'response body' }, true);
      this.completed();
      return parsed.data;
    } finally {
      release();
    }
  }

  /**
   * Our own abort passes through as it is; a broken connection is a server failure. So is a
   * timeout with no completion during the request's life (a hung server); one while other
   * requests completed is a live server and a page too slow for it, which waiting again would not
   * change.
   */
  private transportFailure(error: unknown, signal: AbortSignal, timeout: AbortSignal, completionsBefore: number): unknown {
    if (signal.aborted) return signal.reason;
    if (timeout.aborted) {
      if (this.completions > completionsBefore) return new AttemptFailed('too_slow', 'final', { timeoutMs: this.options.requestTimeoutMs });
      return new AttemptFailed('timeout', 'server');
    }
    return new AttemptFailed('server_error', 'server', { transport: errorCode(error) });
  }

  /**
   * An HTTP error: a 5xx, 408 or 429 is the server's, worth one retry; a 400, 413 or 422 refuses
   * this page (`rejected`); any other 4xx (a wrong model name, a missing key) is the server's and
   * final. The body is never read: its message is not needed and must not reach a log.
   */
  private async httpFailure(response: Response): Promise<AttemptFailed> {
    const status = response.status;
    await response.body?.cancel().catch(() => undefined);
    if (status >= 500) return new AttemptFailed('server_error', 'server', { status }, true);
    if (status === 408 || status === 429) return new AttemptFailed('server_error', 'server', { status });
    if (PAGE_REFUSAL_STATUSES.has(status)) return new AttemptFailed('rejected', 'final', { status });
    return new AttemptFailed('server_error', 'final', { status });
  }

  /** Judges one answer: a page, or AttemptFailed. */
  private read(completion: Completion, pageNumber: number, upright: { width: number; height: number }, rotation: Rotation): OcrPage {
    const choice = completion.choices[0];
    if (!choice) throw new AttemptFailed('empty', 'answer');
    const answer = choice.message.content ?? '';
    // Only a loop the answer never leaves is one: repeated rows followed by more of the page are a
    // form, a checklist or a column of zeros, and read the same at every temperature. An answer
    // the model ended itself needs far more repeats (a blank sign-in sheet ends in its rows).
    const loop = findLoopAtEnd(answer, this.options.repetition ?? DEFAULT_REPETITION, choice.finish_reason === 'stop');
    if (loop) throw new AttemptFailed('repetition', 'answer', { period: loop.period, repeats: loop.repeats });
    if (choice.finish_reason !== 'stop') {
      const reason = finishFailure(choice.finish_reason);
      throw new AttemptFailed(reason, reason === 'server_error' ? 'server' : 'answer', { finishReason: choice.finish_reason ?? null });
    }
    const parsed = parseQwenHtml(answer, upright);
    if (parsed.outcome === 'malformed') throw new AttemptFailed('malformed', 'answer');
    const confidence = answerConfidence(answer, choice.logprobs?.content, parsed.blocks.map((b) => b.span));
    const blocks: OcrBlock[] = parsed.blocks.map((b, i) => ({ kind: b.kind, html: b.html, bbox: b.bbox, confidence: confidence.blocks[i] ?? null }));
    return this.page(pageNumber, upright, rotation, blocks.length > 0 ? confidence.page : null, blocks);
  }

  private page(page: number, size: { width: number; height: number }, rotation: Rotation, confidence: number | null, blocks: OcrBlock[]): OcrPage {
    return { page, width: size.width, height: size.height, engine: this.name, confidence, rotation, blocks };
  }
}

/** The error's code (`ECONNREFUSED`, `UND_ERR_SOCKET`), or its name: never its message. */
function errorCode(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  return error instanceof Error ? error.name : 'unknown';
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
