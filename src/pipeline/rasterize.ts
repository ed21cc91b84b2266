/**
 * Documents to page images, one page at a time, each within a pixel bound.
 *
 * PDFs render with pdf.js (legacy build) on the canvas it brings (`doc.canvasFactory`: a second
 * @napi-rs/canvas next to pdf.js's own crashes); images (PNG, JPEG, WebP, TIFF including
 * multi-page) decode with sharp. A page is rendered at `dpi` unless that exceeds `maxPixels`,
 * in which case it is scaled down to fit: OCR gains nothing past ~300 DPI, and a poster-sized
 * page must not take the worker's memory.
 */
import sharp from 'sharp';
import type { OcrPage, PageImage } from '../ocr/engine';
import { loadPdfJs, pdfJsAssetParams, type PdfDocument, type PdfLoadingTask, type PdfPage, type PdfViewport } from './pdfjs';
import { textLayerPage } from './text-layer';
import { DEFAULT_MAX_PAGE_PIXELS } from './page-limits';

export interface RasterOptions {
  /** Target resolution for PDF pages. Default 200. */
  dpi?: number;
  /** Most pixels one page image may have. Default 2,500,000 (≈ A4 at 200 DPI is 3.7 MP, so A4 lands near 165 DPI). */
  maxPixels?: number;
  /** Largest decoded input image sharp will open (pixel-flood guard). Default 150 MP. */
  maxInputPixels?: number;
}

export interface RasterDocument {
  readonly pageCount: number;
  /** Renders page `page` (1-based). Safe to call for several pages at once. */
  render(page: number): Promise<PageImage>;
  /**
   * Page `page`'s own text layer (PDFs), with boxes in the pixels of the image `render(page)`
   * produces; null for images and for a page whose layer has fewer than a few letters.
   */
  textLayer(page: number): Promise<OcrPage | null>;
  close(): Promise<void>;
}

export const DEFAULT_DPI = 200;
export { DEFAULT_MAX_PAGE_PIXELS };
export const DEFAULT_MAX_INPUT_PIXELS = 150_000_000;
/** Canvas backends refuse sides beyond this. */
const MAX_SIDE = 16_384;

/** The largest scale ≤ `scale` at which a `width × height` (at scale 1) page fits the bounds. */
export function fitScale(width: number, height: number, scale: number, maxPixels: number): number {
  const pixels = width * scale * height * scale;
  let fitted = pixels > maxPixels ? scale * Math.sqrt(maxPixels / pixels) : scale;
  fitted = Math.min(fitted, MAX_SIDE / width, MAX_SIDE / height);
  return fitted;
}

export async function openRasterDocument(
  bytes: Uint8Array,
  contentType: string,
  options: RasterOptions = {},
): Promise<RasterDocument> {
  return contentType === 'application/pdf' ? openPdf(bytes, options) : openImage(bytes, options);
}

async function openPdf(bytes: Uint8Array, options: RasterOptions): Promise<RasterDocument> {
  const pdfjs = loadPdfJs();
  // pdf.js takes ownership of (and detaches) the buffer it is given.
  const task: PdfLoadingTask = pdfjs.getDocument({
    data: new Uint8Array(bytes),
    isEvalSupported: false,
    verbosity: pdfjs.VerbosityLevel.ERRORS,
    ...pdfJsAssetParams(),
  });
  let doc: PdfDocument;
  try {
    doc = await task.promise;
  } catch (error) {
    await task.destroy();
    throw error;
  }
  const dpi = options.dpi ?? DEFAULT_DPI;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PAGE_PIXELS;
  // One viewport for the image and its text layer, so the layer's boxes lie on the image's pixels.
  const viewportOf = (page: PdfPage): { viewport: PdfViewport; width: number; height: number } => {
    const unit = page.getViewport({ scale: 1 });
    const viewport = page.getViewport({ scale: fitScale(unit.width, unit.height, dpi / 72, maxPixels) });
    return { viewport, width: Math.max(1, Math.floor(viewport.width)), height: Math.max(1, Math.floor(viewport.height)) };
  };
  return {
    pageCount: doc.numPages,
    render: async (pageNumber) => {
      const page = await doc.getPage(pageNumber);
      try {
        const { viewport, width, height } = viewportOf(page);
        const target = doc.canvasFactory.create(width, height);
        try {
          // White paper: a transparent background reads as black to some engines.
          target.context.fillStyle = '#ffffff';
          target.context.fillRect(0, 0, width, height);
          await page.render({ canvas: target.canvas, viewport }).promise;
          const { data } = target.context.getImageData(0, 0, width, height);
          return { page: pageNumber, width, height, format: 'rgba', data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
        } finally {
          doc.canvasFactory.destroy(target);
        }
      } finally {
        page.cleanup();
      }
    },
    textLayer: async (pageNumber) => {
      const page = await doc.getPage(pageNumber);
      try {
        const { viewport, width, height } = viewportOf(page);
        return textLayerPage(await page.getTextContent(), viewport, { page: pageNumber, width, height });
      } finally {
        page.cleanup();
      }
    },
    close: () => task.destroy(),
  };
}

async function openImage(bytes: Uint8Array, options: RasterOptions): Promise<RasterDocument> {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const limitInputPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PAGE_PIXELS;
  const metadata = await sharp(input, { limitInputPixels }).metadata();
  const pageCount = metadata.pages ?? 1;
  return {
    pageCount,
    render: async (pageNumber) => {
      if (!Number.isInteger(pageNumber) || pageNumber < 1 || pageNumber > pageCount) throw new RangeError('no such page');
      // `rotate()` with no angle applies the EXIF orientation, as a viewer would.
      const oriented = await sharp(input, { limitInputPixels, page: pageNumber - 1 })
        .rotate()
        .flatten({ background: '#ffffff' })
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      let { data, info } = oriented;
      const scale = fitScale(info.width, info.height, 1, maxPixels);
      if (scale < 1) {
        ({ data, info } = await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
          .resize({ width: Math.max(1, Math.floor(info.width * scale)), height: Math.max(1, Math.floor(info.height * scale)), fit: 'fill' })
          .raw()
          .toBuffer({ resolveWithObject: true }));
      }
      return { page: pageNumber, width: info.width, height: info.height, format: 'rgba', data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    },
    textLayer: async () => null,
    close: async () => undefined,
  };
}
