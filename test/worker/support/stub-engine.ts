import type { OcrEngine, OcrPage, PageImage, RecognizeOptions } from '../../../src/ocr/engine';

/** An engine that answers each page with its number as text, or fails as told. */
export class StubEngine implements OcrEngine {
  readonly concurrency = 4;
  constructor(readonly name = 'stub') {}
  calls: number[] = [];
  failWith?: (page: number) => Error | undefined;
  /** The text the engine reads on a page; `page N` unless told. */
  textOf: (page: number) => string = (page) => `page ${page}`;
  async recognize(image: PageImage, _options?: RecognizeOptions): Promise<OcrPage> {
    this.calls.push(image.page);
    const error = this.failWith?.(image.page);
    if (error) throw error;
    return {
      page: image.page,
      width: image.width,
      height: image.height,
      engine: this.name,
      confidence: 0.9,
      rotation: 0,
      blocks: [{ kind: 'text', text: this.textOf(image.page), bbox: [0, 0, 10, 10], confidence: 0.9 }],
    };
  }
  async close(): Promise<void> {}
}
