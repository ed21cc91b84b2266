import sharp from 'sharp';
import type { PageImage } from '../../src/ocr/engine';
import { QwenVllmEngine } from '../../src/ocr/qwen-vllm-engine';
import { TesseractOrientationDetector } from '../../src/ocr/qwen-orientation';
import { SAMPLE_PAGES, scanPage } from '../pipeline/support/documents';
import { OpenAiStubServer } from './support/openai-stub-server';

async function scanned(rotate: 0 | 90 | 180 | 270): Promise<PageImage> {
  const png = await scanPage({ lines: SAMPLE_PAGES[0]!.lines, rotate });
  const { width, height } = await sharp(png).metadata();
  return { page: 1, width: width!, height: height!, format: 'png', data: png };
}

describe('turning pages upright before Qwen3-VL reads them', () => {
  let detector: TesseractOrientationDetector;
  beforeAll(() => {
    detector = new TesseractOrientationDetector();
  });
  afterAll(() => detector.close());

  it.each([
    [0, 0],
    [90, 270],
    [180, 180],
  ] as const)('finds that a page scanned turned %i° needs turning %i° clockwise', async (scannedAt, expected) => {
    // Prepare
    const page = await scanned(scannedAt);

    // Act
    const rotation = await detector.detect(page);

    // Assess
    expect(rotation).toBe(expected);
  });

  it('sends a sideways page upright by default, and reports the turn with the turned page size', async () => {
    // Prepare
    const server = await OpenAiStubServer.start(() => ({ content: '<html><body><p data-bbox="0 0 1000 100">Quarterly report</p></body></html>' }));
    const engine = QwenVllmEngine.create({ baseUrl: server.baseUrl, model: 'm', retryDelayMs: 0 });
    const page = await scanned(90);

    // Act
    let result;
    try {
      result = await engine.recognize(page);
    } finally {
      await engine.close();
      await server.close();
    }

    // Assess
    expect(result).toMatchObject({ rotation: 270, width: page.height, height: page.width });
    expect((await server.promptOf(0)).image).toMatchObject({ width: page.height, height: page.width });
    expect(result.blocks[0]!.bbox).toEqual([0, 0, page.height, page.width / 10]);
  });
});
