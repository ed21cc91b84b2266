/**
 * What intake learns about a document from a few byte ranges, never the whole object: its real
 * type (magic bytes), page count (PDF through pdf.js range requests, TIFF by walking IFDs),
 * encryption and structure (PDF), and pixel dimensions (images).
 */
import { taskError, type TaskError } from '../domain/task';
import { loadPdfJs, pdfJsAssetParams, type PdfRangeTransport } from './pdfjs';

export type DocumentType = 'application/pdf' | 'image/png' | 'image/jpeg' | 'image/tiff' | 'image/webp';
export const DOCUMENT_TYPES: readonly DocumentType[] = ['application/pdf', 'image/png', 'image/jpeg', 'image/tiff', 'image/webp'];

/** Reads bytes `[start, end]` (inclusive) of the object; shorter at the object's end. */
export type RangeReader = (start: number, end: number) => Promise<Uint8Array>;

export interface ProbeLimits {
  maxPages: number;
  /** Largest image (width × height) accepted, per page. */
  maxImagePixels: number;
}

export type ProbeFailureCode = 'unsupported_type' | 'too_many_pages' | 'corrupt_document' | 'encrypted_document' | 'image_too_large';

export interface ImageSize {
  width: number;
  height: number;
}

export type ProbeResult =
  | { ok: true; type: DocumentType; pageCount: number }
  | ({ ok: false } & TaskError<ProbeFailureCode>);

/** Bytes intake reads first: enough for every magic number and most image headers. */
export const HEAD_BYTES = 64 * 1024;

export function sniffType(head: Uint8Array): DocumentType | null {
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b);
  // PDF readers accept a header anywhere in the first KiB.
  if (indexOf(head.subarray(0, 1024), '%PDF-') >= 0) return 'application/pdf';
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'image/tiff';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return 'image/webp';
  return null;
}

export async function probeDocument(input: {
  declaredType: string;
  size: number;
  head: Uint8Array;
  read: RangeReader;
  limits: ProbeLimits;
}): Promise<ProbeResult> {
  const { head, limits } = input;
  const type = sniffType(head);
  if (type === null) {
    return fail(taskError('unsupported_type'));
  }
  if (type !== input.declaredType.toLowerCase()) {
    return fail(taskError('unsupported_type', { actual: label(type), declared: label(input.declaredType) }));
  }
  const reader = cachedReader(input.read, head, input.size);
  try {
    switch (type) {
      case 'application/pdf':
        return await probePdf(reader, input.size, head, limits);
      case 'image/tiff':
        return await probeTiff(reader, limits);
      default: {
        const size = await imageSize(type, reader);
        if (!size) return fail(taskError('corrupt_document', 'image'));
        return checkPixels(type, [size], limits);
      }
    }
  } catch (error) {
    if (error instanceof TruncatedError) return fail(taskError('corrupt_document'));
    throw error;
  }
}

/**
 * The same checks on a document held in memory (the worker re-checks what it downloaded before
 * any OCR: the object may have been replaced since intake, or intake's limits were different).
 */
export function probeBytes(bytes: Uint8Array, declaredType: string, limits: ProbeLimits): Promise<ProbeResult> {
  const read: RangeReader = async (start, end) => bytes.subarray(start, Math.min(end + 1, bytes.byteLength));
  return probeDocument({ declaredType, size: bytes.byteLength, head: bytes.subarray(0, HEAD_BYTES), read, limits });
}

const fail = (error: TaskError<ProbeFailureCode>): ProbeResult => ({ ok: false, ...error });

function label(type: string): string {
  const names: Record<string, string> = {
    'application/pdf': 'a PDF',
    'image/png': 'a PNG image',
    'image/jpeg': 'a JPEG image',
    'image/tiff': 'a TIFF image',
    'image/webp': 'a WebP image',
  };
  return names[type.toLowerCase()] ?? 'the type';
}

/** Pixel limits of image pages; shared with the worker, which checks them again before OCR. */
export function pixelFailure(sizes: readonly ImageSize[], maxImagePixels: number): TaskError<'corrupt_document' | 'image_too_large'> | null {
  for (const { width, height } of sizes) {
    if (!(width >= 1 && height >= 1)) return taskError('corrupt_document', 'image');
    if (width * height > maxImagePixels) return taskError('image_too_large', { actual: width * height, max: maxImagePixels });
  }
  return null;
}

function checkPixels(type: DocumentType, sizes: ImageSize[], limits: ProbeLimits): ProbeResult {
  const failure = pixelFailure(sizes, limits.maxImagePixels);
  return failure ? fail(failure) : { ok: true, type, pageCount: sizes.length };
}

function tooManyPages(pages: number | string, limits: ProbeLimits): ProbeResult {
  return fail(taskError('too_many_pages', { count: pages, max: limits.maxPages }));
}

// ---------------------------------------------------------------------------------------------
// PDF

async function probePdf(reader: CachedReader, size: number, head: Uint8Array, limits: ProbeLimits): Promise<ProbeResult> {
  const pdfjs = loadPdfJs();
  const chunk = Math.min(HEAD_BYTES, size);
  // pdf.js transfers (detaches) what it is given: hand it copies. `new Uint8Array(view)` copies
  // even for a Buffer, whose slice() would share (and so detach) the caller's memory.
  const transport: PdfRangeTransport = new pdfjs.PDFDataRangeTransport(size, new Uint8Array(head.subarray(0, chunk)));
  // pdf.js asks for ranges through this method; answers arrive through onDataRange.
  (transport as PdfRangeTransport & { requestDataRange(begin: number, end: number): void }).requestDataRange = (begin, end) => {
    reader.read(begin, end - 1).then(
      (bytes) => transport.onDataRange(begin, new Uint8Array(bytes)),
      () => transport.abort(),
    );
  };
  const task = pdfjs.getDocument({
    range: transport,
    length: size,
    rangeChunkSize: HEAD_BYTES,
    disableAutoFetch: true,
    disableStream: true,
    isEvalSupported: false,
    verbosity: pdfjs.VerbosityLevel.ERRORS,
    ...pdfJsAssetParams(),
  });
  try {
    const doc = await task.promise;
    if (doc.numPages < 1) return fail(taskError('corrupt_document', 'PDF'));
    if (doc.numPages > limits.maxPages) return tooManyPages(doc.numPages, limits);
    return { ok: true, type: 'application/pdf', pageCount: doc.numPages };
  } catch (error) {
    // pdf.js errors may come from another realm (see requireEsm): compare names, not classes.
    const name = typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : '';
    if (name === 'PasswordException') {
      return fail(taskError('encrypted_document'));
    }
    if (/PDFException|FormatError|Invalid|Unknown/i.test(name)) {
      return fail(taskError('corrupt_document', 'PDF'));
    }
    if (reader.failure) throw reader.failure;
    return fail(taskError('corrupt_document', 'PDF'));
  } finally {
    await task.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// TIFF: a chain of image file directories, each naming its size and the next one's offset.

async function probeTiff(reader: CachedReader, limits: ProbeLimits): Promise<ProbeResult> {
  const header = await reader.bytes(0, 8);
  const little = header[0] === 0x49;
  const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const sizes: ImageSize[] = [];
  const seen = new Set<number>();
  let offset = view(header).getUint32(4, little);
  while (offset !== 0) {
    if (seen.has(offset)) return fail(taskError('corrupt_document', 'TIFF image'));
    seen.add(offset);
    if (sizes.length >= limits.maxPages) return tooManyPages(`more than ${limits.maxPages}`, limits);
    const count = view(await reader.bytes(offset, 2)).getUint16(0, little);
    const entries = view(await reader.bytes(offset + 2, count * 12 + 4));
    let width = 0;
    let height = 0;
    for (let i = 0; i < count; i += 1) {
      const tag = entries.getUint16(i * 12, little);
      if (tag !== 256 && tag !== 257) continue;
      const fieldType = entries.getUint16(i * 12 + 2, little);
      const value = fieldType === 3 ? entries.getUint16(i * 12 + 8, little) : entries.getUint32(i * 12 + 8, little);
      if (tag === 256) width = value;
      else height = value;
    }
    sizes.push({ width, height });
    offset = entries.getUint32(count * 12, little);
  }
  if (sizes.length === 0) return fail(taskError('corrupt_document', 'TIFF image'));
  return checkPixels('image/tiff', sizes, limits);
}

// ---------------------------------------------------------------------------------------------
// Single images

async function imageSize(type: DocumentType, reader: CachedReader): Promise<{ width: number; height: number } | null> {
  if (type === 'image/png') {
    const b = await reader.bytes(16, 8);
    const v = new DataView(b.buffer, b.byteOffset, 8);
    return { width: v.getUint32(0), height: v.getUint32(4) };
  }
  if (type === 'image/webp') return webpSize(await reader.bytes(12, 18));
  return jpegSize(reader);
}

function webpSize(b: Uint8Array): { width: number; height: number } | null {
  const chunk = ascii(b, 0, 4);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (chunk === 'VP8 ') return { width: v.getUint16(14, true) & 0x3fff, height: v.getUint16(16, true) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = v.getUint32(9, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') {
    const u24 = (o: number): number => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
    return { width: u24(12) + 1, height: u24(15) + 1 };
  }
  return null;
}

/** Walks JPEG segments to the first start-of-frame; EXIF blocks before it can be large, so this may read past the head. */
async function jpegSize(reader: CachedReader): Promise<{ width: number; height: number } | null> {
  let offset = 2;
  for (let segments = 0; segments < 512; segments += 1) {
    const marker = await reader.bytes(offset, 4);
    if (marker[0] !== 0xff) return null;
    const code = marker[1]!;
    if (code === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    const length = (marker[2]! << 8) | marker[3]!;
    const isFrame = code >= 0xc0 && code <= 0xcf && code !== 0xc4 && code !== 0xc8 && code !== 0xcc;
    if (isFrame) {
      const f = await reader.bytes(offset + 5, 4);
      return { height: (f[0]! << 8) | f[1]!, width: (f[2]! << 8) | f[3]! };
    }
    if (code === 0xd9 || code === 0xda) return null; // end of image or scan data before any frame header
    offset += 2 + length;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Reading

class TruncatedError extends Error {}

interface CachedReader {
  /** Exactly `length` bytes at `offset`, or TruncatedError past the end. */
  bytes(offset: number, length: number): Promise<Uint8Array>;
  /** Raw ranged read (for pdf.js). */
  read(start: number, end: number): Promise<Uint8Array>;
  failure?: unknown;
}

/** Serves reads inside the head from memory; anything else is one ranged read of at least a few KiB. */
function cachedReader(read: RangeReader, head: Uint8Array, size: number): CachedReader {
  const windows: Array<{ start: number; bytes: Uint8Array }> = [{ start: 0, bytes: head }];
  const reader: CachedReader = {
    async read(start, end) {
      try {
        return await read(start, end);
      } catch (error) {
        reader.failure = error;
        throw error;
      }
    },
    async bytes(offset, length) {
      if (offset < 0 || offset + length > size) throw new TruncatedError();
      for (const w of windows) {
        if (offset >= w.start && offset + length <= w.start + w.bytes.byteLength) {
          return w.bytes.subarray(offset - w.start, offset - w.start + length);
        }
      }
      const end = Math.min(size, offset + Math.max(length, 4096)) - 1;
      const bytes = await reader.read(offset, end);
      if (bytes.byteLength < length) throw new TruncatedError();
      windows.push({ start: offset, bytes });
      if (windows.length > 64) windows.splice(1, 1);
      return bytes.subarray(0, length);
    },
  };
  return reader;
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

function indexOf(bytes: Uint8Array, needle: string): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(needle, 0, 'latin1');
}
