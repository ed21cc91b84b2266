import sharp from 'sharp';
import type { PageImage } from '../../src/ocr/engine';
import { PREVIEW_MAX_SIDE, renderPagePreview } from '../../src/pipeline/preview';

/** A raw RGBA page, white with a black square in its top-left quarter. */
function page(width: number, height: number): PageImage {
  const data = new Uint8Array(width * height * 4).fill(255);
  for (let y = 0; y < height / 2; y += 1) for (let x = 0; x < width / 2; x += 1) data.fill(0, (y * width + x) * 4, (y * width + x) * 4 + 3);
  return { page: 1, width, height, format: 'rgba', data };
}

describe('page previews', () => {
  it('are WebP scaled to a longest side of 1,200 px, keeping the aspect ratio', async () => {
    // Act
    const preview = await sharp(await renderPagePreview(page(2480, 1754), 0)).metadata();

    // Assess
    expect(preview.format).toBe('webp');
    expect([preview.width, preview.height]).toEqual([PREVIEW_MAX_SIDE, Math.round((1754 * PREVIEW_MAX_SIDE) / 2480)]);
  });

  it('are never enlarged', async () => {
    // Act
    const preview = await sharp(await renderPagePreview(page(400, 300), 0)).metadata();

    // Assess
    expect([preview.width, preview.height]).toEqual([400, 300]);
  });

  it('are turned as the engine turned the page, so its boxes lie over the right place', async () => {
    // Act: turned 90° clockwise, the dark top-left quarter moves to the top-right
    const { data, info } = await sharp(await renderPagePreview(page(400, 200), 90)).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => data[(y * info.width + x) * info.channels]!;

    // Assess
    expect([info.width, info.height]).toEqual([200, 400]);
    expect(at(150, 50)).toBeLessThan(64);
    expect(at(50, 50)).toBeGreaterThan(192);
  });
});
