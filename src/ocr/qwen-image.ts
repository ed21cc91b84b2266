/**
 * The page image as the model gets it, and the cheap look that spares the model a blank page
 * (Qwen3-VL invents text on blank pages, olmocr#292).
 */
import sharp, { type Sharp } from 'sharp';
import type { PageImage } from './engine';
import type { Rotation } from './qwen-orientation';

export interface BlankCheck {
  /** Long side of the greyscale copy the check looks at. */
  probePixels: number;
  /** A pixel this far (0–255) from the page's median grey is ink. */
  inkContrast: number;
  /** A page with less ink than this share of its pixels is blank. */
  minInkShare: number;
}

/**
 * Conservative: losing real text is worse than a model call. Measured on A4 pages from PDFs at
 * 72 and 200 DPI: a lone `1` in 16 pt is 0.007% ink at this probe size, `page 1` 0.06%, a lone
 * full stop (or a speck) 0.001%.
 */
export const DEFAULT_BLANK_CHECK: BlankCheck = { probePixels: 512, inkContrast: 48, minInkShare: 0.00004 };

function open(image: PageImage): Sharp {
  const bytes = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return image.format === 'png' ? sharp(bytes) : sharp(bytes, { raw: { width: image.width, height: image.height, channels: 4 } });
}

/** True when nearly every pixel is the page's background grey: nothing for the model to read. */
export async function looksBlank(image: PageImage, check: BlankCheck = DEFAULT_BLANK_CHECK): Promise<boolean> {
  const { data, info } = await open(image)
    .flatten({ background: '#ffffff' })
    .greyscale()
    .resize({ width: check.probePixels, height: check.probePixels, fit: 'inside', withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const histogram = new Uint32Array(256);
  for (let i = 0; i < data.length; i += info.channels) histogram[data[i]!]! += 1;
  const pixels = data.length / info.channels;
  let median = 0;
  for (let seen = 0; median < 256 && (seen += histogram[median]!) < pixels / 2; ) median += 1;
  let ink = 0;
  for (let v = 0; v < 256; v += 1) if (Math.abs(v - median) > check.inkContrast) ink += histogram[v]!;
  return ink < check.minInkShare * pixels;
}

/**
 * PNG of the page turned upright, on white: transparent pixels would otherwise reach the model as
 * whatever colour they hide (often black) once its processor drops the alpha channel. A PNG
 * without alpha that needs no turn is sent as it is.
 */
export async function modelPng(image: PageImage, rotation: Rotation): Promise<{ png: Buffer; width: number; height: number }> {
  const quarter = rotation === 90 || rotation === 270;
  const [width, height] = quarter ? [image.height, image.width] : [image.width, image.height];
  if (image.format === 'png' && rotation === 0 && !(await open(image).metadata()).hasAlpha) {
    return { png: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), width, height };
  }
  // Fastest zlib level: the PNG crosses the loopback once, CPU time is the scarcer resource.
  const png = await open(image).flatten({ background: '#ffffff' }).rotate(rotation).png({ compressionLevel: 1 }).toBuffer();
  return { png, width, height };
}
