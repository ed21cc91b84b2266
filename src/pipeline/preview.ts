/**
 * Page previews for viewers: the page image the engine read, turned as the engine turned it (so
 * the JSON view's boxes, in that image's pixels, lie over the right words), scaled down to a
 * longest side of PREVIEW_MAX_SIDE and encoded as WebP. Stored beside the page's checkpoint under
 * the task's results prefix, so deletion and the results' expiry cover it.
 */
import sharp from 'sharp';
import type { OcrPage, PageImage } from '../ocr/engine';

export const PREVIEW_MAX_SIDE = 1200;
export { PREVIEW_CONTENT_TYPE } from '../domain/storage-keys';

export async function renderPagePreview(image: PageImage, rotation: OcrPage['rotation']): Promise<Uint8Array> {
  const input =
    image.format === 'rgba'
      ? sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
          raw: { width: image.width, height: image.height, channels: 4 },
        })
      : sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength));
  // One pipeline: sharp may scale before it turns, whatever the call order, but the fit box is
  // square, so the scale (longest side to PREVIEW_MAX_SIDE) and the output size come out the same.
  // The cheapest kernel and WebP effort: previews share the worker's CPU with rasterization, and at
  // the defaults (lanczos3, effort 4) they took ~3× longer and halved the worker's page rate.
  return input
    .rotate(rotation)
    .resize({ width: PREVIEW_MAX_SIDE, height: PREVIEW_MAX_SIDE, fit: 'inside', withoutEnlargement: true, kernel: 'linear' })
    .flatten({ background: '#ffffff' })
    .webp({ quality: 75, effort: 0 })
    .toBuffer();
}
