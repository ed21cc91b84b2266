/**
 * Which way up a page is, for engines that cannot say it themselves. Qwen3-VL reads a page turned
 * 90° or 180° poorly (reversed text, QwenLM/Qwen3-VL#1880) and reports no angle, so the page is
 * turned upright before it is sent.
 */
import type { OcrPage, PageImage } from './engine';
import { TesseractEngine, type TesseractEngineOptions } from './tesseract-engine';

export type Rotation = OcrPage['rotation'];

/** Port: the clockwise angle that turns `image` upright (0 when unsure). */
export interface OrientationDetector {
  detect(image: PageImage, signal?: AbortSignal): Promise<Rotation>;
  close(): Promise<void>;
}

/**
 * The default detector: Tesseract reads a downscaled copy upright and, only when that does not
 * look like upright text, at 90°, 180° and 270°, and the clearly best angle wins (the same method
 * the CPU engine uses for its own pages). Upright pages, nearly all, cost one small read on the
 * CPU, beside the GPU's work. The Tesseract workers start on first use, or up front with `start`.
 */
export class TesseractOrientationDetector implements OrientationDetector {
  private engine?: Promise<TesseractEngine>;

  constructor(private readonly options: TesseractEngineOptions = { languages: ['eng'] }) {}

  /** A detector whose workers are already started: missing language data fails here, not on a page. */
  static async start(options?: TesseractEngineOptions): Promise<TesseractOrientationDetector> {
    const detector = new TesseractOrientationDetector(options);
    detector.engine = TesseractEngine.create(detector.options);
    await detector.engine;
    return detector;
  }

  async detect(image: PageImage, signal?: AbortSignal): Promise<Rotation> {
    signal?.throwIfAborted();
    this.engine ??= TesseractEngine.create(this.options);
    return (await this.engine).detectOrientation(image);
  }

  async close(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    if (engine) await (await engine).close();
  }
}
