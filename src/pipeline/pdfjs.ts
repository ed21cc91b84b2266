/**
 * Loads pdf.js (the legacy build, for Node) once, with what it needs from the runtime.
 *
 * pdf.js ships only as ES modules. Node ≥ 20.19 can `require()` them; inside a vm sandbox (jest
 * runs every test file in one) that is not possible, so there it is loaded with Node's own loader
 * from the main context, as the PGlite adapter does. pdf.js 6 also expects two built-ins that
 * Node 22 has and Node 20 lacks (`Promise.withResolvers`, `ArrayBuffer#transferToFixedLength`);
 * without the second, pages render blank. They are added to the realm pdf.js runs in.
 *
 * Only the small surface of pdf.js that untxt uses is typed here.
 */
import { dirname, join } from 'node:path';
import { mainRealm, requireEsm } from './host-require';

export interface PdfViewport {
  width: number;
  height: number;
  /** PDF user space to viewport pixels (`[a, b, c, d, e, f]`, origin top-left, /Rotate applied). */
  transform: number[];
}

/** A run of text on a page; `transform` maps text space to PDF user space, `width` is in user space units. */
export interface PdfTextItem {
  str: string;
  dir: string;
  transform: number[];
  width: number;
  height: number;
  fontName: string;
  hasEOL: boolean;
}

export interface PdfTextStyle {
  ascent?: number;
  descent?: number;
  vertical?: boolean;
}

export interface PdfTextContent {
  /** Marked-content entries (no `str`) appear only with `includeMarkedContent`. */
  items: Array<PdfTextItem | { type: string }>;
  styles: Record<string, PdfTextStyle>;
}

export interface PdfCanvasAndContext {
  canvas: { width: number; height: number };
  context: {
    fillStyle: string;
    fillRect(x: number, y: number, w: number, h: number): void;
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}

export interface PdfCanvasFactory {
  create(width: number, height: number): PdfCanvasAndContext;
  destroy(canvasAndContext: PdfCanvasAndContext): void;
}

export interface PdfPage {
  /** Page size in PDF points (1/72 in), with the page's own /Rotate applied. */
  getViewport(options: { scale: number }): PdfViewport;
  render(options: { canvas: unknown; viewport: PdfViewport; background?: string }): { promise: Promise<void> };
  getTextContent(options?: { includeMarkedContent?: boolean; disableNormalization?: boolean }): Promise<PdfTextContent>;
  cleanup(): void;
}

export interface PdfDocument {
  numPages: number;
  getPage(pageNumber: number): Promise<PdfPage>;
  canvasFactory: PdfCanvasFactory;
}

export interface PdfLoadingTask {
  promise: Promise<PdfDocument>;
  destroy(): Promise<void>;
}

export interface PdfRangeTransport {
  onDataRange(begin: number, chunk: Uint8Array | null): void;
  abort(): void;
}

export interface PdfRangeTransportClass {
  new (length: number, initialData: Uint8Array | null, progressiveDone?: boolean): PdfRangeTransport;
}

export interface PdfGetDocumentParams {
  data?: Uint8Array;
  range?: PdfRangeTransport;
  length?: number;
  rangeChunkSize?: number;
  disableAutoFetch?: boolean;
  disableStream?: boolean;
  isEvalSupported?: boolean;
  verbosity?: number;
  standardFontDataUrl?: string;
  cMapUrl?: string;
  cMapPacked?: boolean;
  wasmUrl?: string;
  iccUrl?: string;
  useSystemFonts?: boolean;
  stopAtErrors?: boolean;
}

export interface PdfJs {
  getDocument(params: PdfGetDocumentParams): PdfLoadingTask;
  PDFDataRangeTransport: PdfRangeTransportClass;
  PasswordException: new (...args: never[]) => Error;
  InvalidPDFException: new (...args: never[]) => Error;
  VerbosityLevel: { ERRORS: number };
}

let loaded: PdfJs | undefined;

export function loadPdfJs(): PdfJs {
  if (loaded) return loaded;
  const main = mainRealm();
  addMissingBuiltIns(main);
  if (main !== globalThis) addMissingBuiltIns(globalThis);
  loaded = requireEsm<PdfJs>('pdfjs-dist/legacy/build/pdf.mjs', () => require('pdfjs-dist/legacy/build/pdf.mjs'));
  return loaded;
}

/** Folders pdf.js reads fonts, CMaps and colour profiles from (file paths work in Node). */
export function pdfJsAssetParams(): Pick<PdfGetDocumentParams, 'standardFontDataUrl' | 'cMapUrl' | 'cMapPacked' | 'wasmUrl' | 'iccUrl'> {
  const root = dirname(require.resolve('pdfjs-dist/package.json'));
  return {
    standardFontDataUrl: join(root, 'standard_fonts') + '/',
    cMapUrl: join(root, 'cmaps') + '/',
    cMapPacked: true,
    wasmUrl: join(root, 'wasm') + '/',
    iccUrl: join(root, 'iccs') + '/',
  };
}

type Realm = typeof globalThis & {
  Promise: PromiseConstructor & { withResolvers?: unknown };
};

function addMissingBuiltIns(realm: typeof globalThis): void {
  const r = realm as Realm;
  if (typeof r.Promise.withResolvers !== 'function') {
    Object.defineProperty(r.Promise, 'withResolvers', {
      configurable: true,
      writable: true,
      value: function withResolvers<T>(this: PromiseConstructor) {
        let resolve!: (value: T) => void;
        let reject!: (reason: unknown) => void;
        const promise = new this<T>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        return { promise, resolve, reject };
      },
    });
  }
  const proto = r.ArrayBuffer.prototype as unknown as Record<string, unknown>;
  for (const name of ['transferToFixedLength', 'transfer']) {
    if (typeof proto[name] === 'function') continue;
    // A copy instead of a move: callers only use the returned buffer.
    Object.defineProperty(proto, name, {
      configurable: true,
      writable: true,
      value: function transferCopy(this: ArrayBuffer, length?: number): ArrayBuffer {
        const next = new r.ArrayBuffer(length ?? this.byteLength);
        new r.Uint8Array(next).set(new r.Uint8Array(this, 0, Math.min(next.byteLength, this.byteLength)));
        return next;
      },
    });
  }
}
