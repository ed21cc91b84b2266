/**
 * The OCR engine port: one rasterized page in, that page's blocks out.
 *
 * Every engine reports boxes in the pixels of the image it was given (origin top-left,
 * `[x1, y1, x2, y2]`), so assembly never needs to know which engine ran. An engine whose model
 * answers in other units (Qwen3-VL: 0–1000 relative to the page) converts before returning.
 * Blocks carry either plain `text` (Tesseract) or an `html` fragment (Qwen3-VL); assembly
 * sanitizes HTML and escapes text, so engines never produce trusted markup.
 */

/** A rasterized page. `rgba` is raw 8-bit RGBA, row-major, `width × height × 4` bytes. */
export interface PageImage {
  /** 1-based page number in the document. */
  page: number;
  width: number;
  height: number;
  format: 'rgba' | 'png';
  data: Uint8Array;
}

export type BlockKind = 'text' | 'heading' | 'list' | 'table' | 'image' | 'formula' | 'caption' | 'other';

/** `[x1, y1, x2, y2]` in page pixels, origin top-left. */
export type BBox = readonly [number, number, number, number];

/** The box around all of `boxes`; `[∞, ∞, -∞, -∞]` for none. */
export function enclosingBox(boxes: Iterable<BBox>): BBox {
  // A loop, not spread arguments: a dense page can hold more boxes than a call takes arguments.
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const b of boxes) {
    x1 = Math.min(x1, b[0]);
    y1 = Math.min(y1, b[1]);
    x2 = Math.max(x2, b[2]);
    y2 = Math.max(y2, b[3]);
  }
  return [x1, y1, x2, y2];
}

/**
 * A single-line block at least this much taller than the page's typical line is a heading; the
 * CPU engine and the PDF text layer decide alike.
 */
export const HEADING_LINE_HEIGHT_RATIO = 1.4;

export interface OcrWord {
  text: string;
  bbox: BBox;
  /** 0–1. */
  confidence: number;
}

export interface OcrBlock {
  kind: BlockKind;
  /** Plain text of the block; escaped on assembly. */
  text?: string;
  /** An HTML fragment (e.g. a table); sanitized on assembly with the allowlist. */
  html?: string;
  /** Null when the engine gave no box (some vLLM builds drop Qwen3-VL's boxes). */
  bbox: BBox | null;
  /** 0–1; null when the engine has no measure for the block. */
  confidence: number | null;
  words?: OcrWord[];
}

export interface OcrPage {
  page: number;
  /** Size of the page image the boxes refer to (after any rotation the engine applied). */
  width: number;
  height: number;
  /** Which engine produced the page (the JSON view marks it per page). */
  engine: string;
  /** 0–1 over the page's words; null for a page without text. */
  confidence: number | null;
  /** Clockwise degrees the engine turned the image to read it upright. */
  rotation: 0 | 90 | 180 | 270;
  blocks: OcrBlock[];
  /**
   * Set when the primary engine failed the page on every attempt and another source produced it
   * (the PDF's text layer or the CPU engine): which engine gave up, and why.
   */
  fallback?: PageFallback;
}

/**
 * Why a page's primary engine gave up: the stable reason of its last attempt. The page's own
 * answer: `length`, `repetition`, `malformed`, `content_filter`, `empty`, and `rejected` (the
 * server refused this page's request, e.g. more image tokens than the context holds). The model
 * server: `server_error` (5xx, another 4xx, a broken connection, a body that is no completion)
 * and `timeout`.
 */
export type PageFailureReason = 'length' | 'repetition' | 'malformed' | 'content_filter' | 'rejected' | 'too_slow' | 'server_error' | 'timeout' | 'empty';

export interface PageFallback {
  /** Name of the engine that failed the page, e.g. `vllm/Qwen/Qwen3-VL-8B-Instruct`. */
  from: string;
  reason: PageFailureReason;
  /** Attempts the primary engine made. */
  attempts: number;
}

export interface RecognizeOptions {
  /** Aborts work not yet started (shutdown); an engine may still finish a page it is on. */
  signal?: AbortSignal;
}

export interface OcrEngine {
  /** Stable name recorded with each page and the result, e.g. `tesseract.js-7/eng+deu`. */
  readonly name: string;
  /** How many pages the engine can usefully work on at once (the worker's pool uses it as a hint). */
  readonly concurrency: number;
  recognize(image: PageImage, options?: RecognizeOptions): Promise<OcrPage>;
  /** Releases workers or connections; pending pages are rejected. */
  close(): Promise<void>;
}

/**
 * The engine tried a page every way it knows (its temperature ladder) and got no usable answer.
 * Not a document error. For a failure of the page's answer (see `reason`) the worker reads the
 * page from another source (text layer, CPU engine); for a failure of the model server it fails
 * the attempt so the task is retried, rather than turning every page into fallback output.
 */
export class PageFailedError extends Error {
  constructor(
    readonly engine: string,
    readonly reason: PageFailureReason,
    readonly attempts: number,
  ) {
    super(`${engine} failed the page after ${attempts} attempt(s): ${reason}`);
    this.name = 'PageFailedError';
  }
}

/** A page the engine cannot read at all (a corrupt image): the worker fails the task rather than retrying. */
export class UnreadablePageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadablePageError';
  }
}
