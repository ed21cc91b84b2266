import { PDFDocument, StandardFonts, degrees, type PDFFont } from 'pdf-lib';
import sharp from 'sharp';
import type { BBox, PageImage } from '../../src/ocr/engine';
import { openRasterDocument } from '../../src/pipeline/rasterize';
import { TEXT_LAYER_ENGINE, inkCoverage, pageLetters, textLayerPage } from '../../src/pipeline/text-layer';
import { textPdf } from '../pipeline/support/documents';
import { stampedScanPdf } from './support/documents';

/** 144 DPI: two image pixels per PDF point. */
const SCALE = 2;
const RASTER = { dpi: 72 * SCALE, maxPixels: 100_000_000 };
const SIZE = 20;
/** Boxes lie within this many pixels of where the text was drawn. */
const TOLERANCE = 3;

interface Drawn {
  text: string;
  x: number;
  y: number;
  size?: number;
}

async function pdfWith(pages: Array<{ lines: Drawn[]; rotate?: number }>): Promise<{ bytes: Uint8Array; font: PDFFont }> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const { lines, rotate } of pages) {
    const page = doc.addPage([595, 842]);
    for (const line of lines) page.drawText(line.text, { x: line.x, y: line.y, size: line.size ?? SIZE, font });
    if (rotate) page.setRotation(degrees(rotate));
  }
  return { bytes: await doc.save(), font };
}

/** The box around every dark pixel of the image, in image pixels. */
function inkBox(image: PageImage): BBox {
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let y = 0; y < image.height; y += 1) {
    for (let x = 0; x < image.width; x += 1) {
      if (image.data[(y * image.width + x) * 4]! >= 128) continue;
      [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
    }
  }
  return [x1, y1, x2, y2];
}

function expectInside(inner: BBox, outer: BBox): void {
  expect(inner[0]).toBeGreaterThanOrEqual(outer[0] - TOLERANCE);
  expect(inner[1]).toBeGreaterThanOrEqual(outer[1] - TOLERANCE);
  expect(inner[2]).toBeLessThanOrEqual(outer[2] + TOLERANCE);
  expect(inner[3]).toBeLessThanOrEqual(outer[3] + TOLERANCE);
}

describe('the PDF text layer', () => {
  it('places each line of text where it was drawn, in the pixels of the rendered page image', async () => {
    // Prepare
    const line = { text: 'Quarterly jumping figures', x: 100, y: 700 };
    const { bytes, font } = await pdfWith([{ lines: [line] }]);
    const doc = await openRasterDocument(bytes, 'application/pdf', RASTER);

    try {
      // Act
      const image = await doc.render(1);
      const page = await doc.textLayer(1);

      // Assess
      expect(page).toMatchObject({ page: 1, width: image.width, height: image.height, engine: TEXT_LAYER_ENGINE, rotation: 0 });
      expect(page!.blocks).toHaveLength(1);
      const [block] = page!.blocks;
      expect(block!.text).toBe(line.text);
      const box = block!.bbox!;
      const baseline = (842 - line.y) * SCALE;
      expect(Math.abs(box[0] - line.x * SCALE)).toBeLessThanOrEqual(TOLERANCE);
      expect(Math.abs(box[2] - (line.x + font.widthOfTextAtSize(line.text, SIZE)) * SCALE)).toBeLessThanOrEqual(TOLERANCE);
      // From above the capitals to below the descenders, and no further than the font's extent.
      expect(box[1]).toBeGreaterThanOrEqual(baseline - 1.05 * SIZE * SCALE);
      expect(box[1]).toBeLessThanOrEqual(baseline - 0.7 * SIZE * SCALE);
      expect(box[3]).toBeGreaterThanOrEqual(baseline + 0.15 * SIZE * SCALE);
      expect(box[3]).toBeLessThanOrEqual(baseline + 0.35 * SIZE * SCALE);
      expectInside(inkBox(image), box);
    } finally {
      await doc.close();
    }
  });

  it.each([90, 180, 270])('follows the page rotation (/Rotate %i): the boxes lie on the turned image', async (rotate) => {
    // Prepare
    const line = { text: 'Sideways report', x: 100, y: 700 };
    const { bytes, font } = await pdfWith([{ lines: [line], rotate }]);
    const doc = await openRasterDocument(bytes, 'application/pdf', RASTER);

    try {
      // Act
      const image = await doc.render(1);
      const page = await doc.textLayer(1);

      // Assess
      const quarter = rotate !== 180;
      expect([image.width, image.height]).toEqual(quarter ? [842 * SCALE, 595 * SCALE] : [595 * SCALE, 842 * SCALE]);
      expect([page!.width, page!.height]).toEqual([image.width, image.height]);
      expect(page!.blocks.map((b) => b.text)).toEqual([line.text]);
      const box = page!.blocks[0]!.bbox!;
      // The extent along the text, in the turned image's coordinates.
      const start = line.x * SCALE;
      const end = (line.x + font.widthOfTextAtSize(line.text, SIZE)) * SCALE;
      const expected: Record<number, [number, number]> = {
        90: [box[1], box[3]], // reads downwards
        180: [image.width - box[2], image.width - box[0]], // upside down
        270: [image.height - box[3], image.height - box[1]], // reads upwards
      };
      const [from, to] = expected[rotate]!;
      expect(Math.abs(from - start)).toBeLessThanOrEqual(TOLERANCE);
      expect(Math.abs(to - end)).toBeLessThanOrEqual(TOLERANCE);
      const across = quarter ? box[2] - box[0] : box[3] - box[1];
      expect(across).toBeGreaterThan(0.9 * SIZE * SCALE);
      expect(across).toBeLessThan(1.4 * SIZE * SCALE);
      expectInside(inkBox(image), box);
    } finally {
      await doc.close();
    }
  });

  it('groups lines into paragraph blocks, keeps columns apart and marks a large single line as a heading', async () => {
    // Prepare
    const { bytes } = await pdfWith([
      {
        lines: [
          { text: 'Annual Summary', x: 60, y: 780, size: 32 },
          { text: 'first left line', x: 60, y: 700 },
          { text: 'second left line', x: 60, y: 676 },
          { text: 'right column text', x: 360, y: 700 },
          { text: 'a later paragraph', x: 60, y: 560 },
        ],
      },
    ]);
    const doc = await openRasterDocument(bytes, 'application/pdf', RASTER);

    try {
      // Act
      const page = await doc.textLayer(1);

      // Assess
      expect(page!.blocks.map((b) => [b.kind, b.text])).toEqual([
        ['heading', 'Annual Summary'],
        ['text', 'first left line\nsecond left line'],
        ['text', 'right column text'],
        ['text', 'a later paragraph'],
      ]);
      expect(page!.confidence).toBeNull();
    } finally {
      await doc.close();
    }
  });

  it('reports no text layer for a page with fewer than a few letters, a page without text, or an image', async () => {
    // Prepare
    const { bytes } = await pdfWith([{ lines: [{ text: '12', x: 290, y: 40 }, { text: 'a', x: 100, y: 700 }] }, { lines: [] }]);
    const pdf = await openRasterDocument(bytes, 'application/pdf', RASTER);
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#fff' } }).png().toBuffer();
    const image = await openRasterDocument(png, 'image/png');

    try {
      // Act
      const layers = [await pdf.textLayer(1), await pdf.textLayer(2), await image.textLayer(1)];

      // Assess
      expect(layers).toEqual([null, null, null]);
    } finally {
      await pdf.close();
      await image.close();
    }
  });
});

describe('the text layer of pdf.js text content', () => {
  const viewport = { transform: [2, 0, 0, -2, 0, 1684] }; // 144 DPI, y flipped
  const run = (str: string, x: number, y: number) => ({ str, dir: 'ltr', transform: [20, 0, 0, 20, x, y], width: str.length * 10, height: 20, fontName: 'f1', hasEOL: false });

  it('leaves out glyphs that map to no character, and counts only real letters towards a text layer', () => {
    // Prepare
    const content = { items: [run('\uE001\uE002\uE003\uE004 Total', 100, 700), run('\uFFFD\uFFFD\uE005', 100, 600)], styles: { f1: { ascent: 0.9, descent: -0.2 } } };
    const garbage = { items: [run('\uE001\uE002\uE003\uE004\uE005 1', 100, 700)], styles: {} };

    // Act
    const page = textLayerPage(content, viewport, { page: 1, width: 1190, height: 1684 });
    const none = textLayerPage(garbage, viewport, { page: 1, width: 1190, height: 1684 });

    // Assess
    expect(page!.blocks.map((b) => b.text)).toEqual(['Total']);
    expect(none).toBeNull();
  });

  it('drops text outside the visible page and clips boxes at its edges', () => {
    // Prepare
    const content = { items: [run('Beyond the crop box', 700, 700), run('Edge words', 580, 700), run('Inside text', 100, 700)], styles: {} };

    // Act
    const page = textLayerPage(content, viewport, { page: 1, width: 1190, height: 1684 });

    // Assess
    expect(page!.blocks.map((b) => b.text)).toEqual(['Inside text', 'Edge words']);
    for (const block of page!.blocks) {
      expect(block.bbox![0]).toBeGreaterThanOrEqual(0);
      expect(block.bbox![2]).toBeLessThanOrEqual(1190);
    }
  });
});

describe('the share of a page\'s ink its text layer covers', () => {
  async function coverageOf(bytes: Uint8Array): Promise<{ coverage: number | null; letters: number }> {
    const doc = await openRasterDocument(bytes, 'application/pdf', { dpi: 100 });
    try {
      const image = await doc.render(1);
      const layer = await doc.textLayer(1);
      return { coverage: inkCoverage(image, layer!.blocks.map((b) => b.bbox)), letters: pageLetters(layer!) };
    } finally {
      await doc.close();
    }
  }

  it('is nearly all of a born-digital page\'s ink', async () => {
    // Act
    const { coverage } = await coverageOf(await textPdf([['Quarterly figures', 'Revenue rose by a tenth', 'Costs held steady']]));

    // Assess
    expect(coverage).toBeGreaterThan(0.95);
  });

  it('is little of a scanned page whose layer is only a "CONFIDENTIAL" stamp', async () => {
    // Act
    const { coverage, letters } = await coverageOf(await stampedScanPdf(['Patient history and findings', 'Blood pressure normal at rest', 'Follow up in three weeks']));

    // Assess
    expect(letters).toBe('CONFIDENTIAL'.length);
    expect(coverage).toBeLessThan(0.1);
  });

  it('is unknown for a page without ink, or an image that is not raw pixels', () => {
    // Prepare
    const white: PageImage = { page: 1, width: 4, height: 4, format: 'rgba', data: new Uint8Array(64).fill(255) };
    const png: PageImage = { ...white, format: 'png' };

    // Act
    const coverages = [inkCoverage(white, [[0, 0, 2, 2]]), inkCoverage(png, [[0, 0, 2, 2]])];

    // Assess
    expect(coverages).toEqual([null, null]);
  });
});
