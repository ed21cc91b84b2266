/**
 * The CPU engine: tesseract.js (Tesseract compiled to WebAssembly) with language data from npm.
 *
 * Warm workers are created once and shared through a scheduler (one per core by default), so a
 * page never waits for a model to load. Language data is read from the `@tesseract.js-data/*`
 * packages through one folder of symlinks, gzip-compressed, never cached to disk and never
 * downloaded.
 *
 * Orientation: tesseract's own detector needs the legacy `osd` model, which the npm data does not
 * ship. Instead a page whose first reading does not look like upright text is read again,
 * downscaled, at 90°, 180° and 270°, and the best-scoring angle wins; only then is the full page
 * read turned. Upright pages (nearly all) pay nothing; a suspicious page pays four small reads.
 */
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { createScheduler, createWorker, type Page as TesseractPage, type Scheduler, type Word as TesseractWord } from 'tesseract.js';
import { type BBox, enclosingBox, HEADING_LINE_HEIGHT_RATIO, type OcrBlock, type OcrEngine, type OcrPage, type OcrWord, type PageImage, type RecognizeOptions } from './engine';

export interface TesseractEngineOptions {
  /** Tesseract language codes with data in `@tesseract.js-data/<code>`; default English and German. */
  languages?: string[];
  /** Warm workers; default one per core, at most 4. */
  workers?: number;
  /** Resolution pages are rasterized at; Tesseract scales its heuristics with it. */
  dpi?: number;
}

type Rotation = OcrPage['rotation'];

/** Words below this confidence are noise (speckles, scanner edges), not text. */
const MIN_WORD_CONFIDENCE = 0.3;
/** Symbols-only "words" need more than that to count. */
const MIN_SYMBOL_CONFIDENCE = 0.6;
/** A page with fewer letters or digits than this after filtering is blank. */
const MIN_PAGE_CHARACTERS = 3;
/** Long side of the downscaled copy used to compare orientations. */
const ORIENTATION_PROBE_PIXELS = 1200;

export class TesseractEngine implements OcrEngine {
  readonly name: string;
  readonly concurrency: number;
  private closed = false;

  private constructor(
    private readonly scheduler: Scheduler,
    workers: number,
    languages: string[],
  ) {
    this.name = `tesseract.js-7/${languages.join('+')}`;
    this.concurrency = workers;
  }

  static async create(options: TesseractEngineOptions = {}): Promise<TesseractEngine> {
    const languages = options.languages ?? ['eng', 'deu'];
    const workers = Math.max(1, options.workers ?? Math.min(availableParallelism(), 4));
    const langPath = languageFolder(languages);
    const scheduler = createScheduler();
    try {
      const created = await Promise.all(
        Array.from({ length: workers }, () =>
          createWorker(languages, 1, { langPath, gzip: true, cacheMethod: 'none', logger: () => undefined, errorHandler: () => undefined }),
        ),
      );
      for (const worker of created) {
        await worker.setParameters({ user_defined_dpi: String(options.dpi ?? 200) });
        scheduler.addWorker(worker);
      }
    } catch (error) {
      await scheduler.terminate();
      throw error;
    }
    return new TesseractEngine(scheduler, workers, languages);
  }

  async recognize(image: PageImage, options: RecognizeOptions = {}): Promise<OcrPage> {
    if (this.closed) throw new Error('The engine is closed');
    options.signal?.throwIfAborted();
    const png = await toPng(image);
    const upright = await this.read(png);
    let reading = { ...upright, rotation: 0 as Rotation, width: image.width, height: image.height };

    if (upright.rawWords > 0 && !looksUpright(upright.words)) {
      const rotation = await this.bestRotation(await orientationProbe(image, png));
      if (rotation !== 0) {
        options.signal?.throwIfAborted();
        const turned = await sharp(png).rotate(rotation).png({ compressionLevel: 1 }).toBuffer();
        const quarter = rotation === 90 || rotation === 270;
        reading = {
          ...(await this.read(turned)),
          rotation,
          width: quarter ? image.height : image.width,
          height: quarter ? image.width : image.height,
        };
      }
    }

    const blocks = toBlocks(reading.page);
    const words = blocks.flatMap((b) => b.words ?? []);
    const blank = alnumCount(words) < MIN_PAGE_CHARACTERS;
    return {
      page: image.page,
      width: reading.width,
      height: reading.height,
      engine: this.name,
      confidence: blank ? null : weightedConfidence(words),
      rotation: reading.rotation,
      blocks: blank ? [] : blocks,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.scheduler.terminate();
  }

  private async read(png: Buffer): Promise<{ page: TesseractPage; words: OcrWord[]; rawWords: number }> {
    const { data } = await this.scheduler.addJob('recognize', png, {}, { blocks: true, text: false, hocr: false, tsv: false });
    const raw = allWords(data);
    return { page: data, words: raw.map(toWord).filter(keepWord), rawWords: raw.length };
  }

  /**
   * Orientation only, for engines that cannot tell it themselves (Qwen3-VL): reads a downscaled
   * copy upright and, unless that looks like upright text, at the other angles. 0 for a page
   * without words.
   */
  async detectOrientation(image: PageImage): Promise<Rotation> {
    if (this.closed) throw new Error('The engine is closed');
    const small = await orientationProbe(image);
    const upright = await this.read(small);
    if (upright.rawWords === 0 || looksUpright(upright.words)) return 0;
    return this.bestRotation(small, upright.words);
  }

  /** Reads the downscaled copy at each angle; 0 unless another angle reads clearly better. */
  private async bestRotation(small: Buffer, uprightWords?: OcrWord[]): Promise<Rotation> {
    const angles: Rotation[] = [0, 90, 180, 270];
    const scores = await Promise.all(
      angles.map(async (angle) => {
        if (angle === 0 && uprightWords) return orientationScore(uprightWords);
        const input = angle === 0 ? small : await sharp(small).rotate(angle).png({ compressionLevel: 1 }).toBuffer();
        return orientationScore((await this.read(input)).words);
      }),
    );
    let best = 0;
    for (let i = 1; i < angles.length; i += 1) if (scores[i]! > scores[best]!) best = i;
    // A turned reading must beat the upright one clearly: ties keep the page as it is.
    return best !== 0 && scores[best]! > 1.5 * scores[0]! + 1 ? angles[best]! : 0;
  }
}

/** One folder with `<lang>.traineddata.gz` for each language, as tesseract.js's `langPath` expects. */
function languageFolder(languages: string[]): string {
  const folder = join(tmpdir(), `untxt-tessdata-${process.getuid?.() ?? 'user'}`);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  for (const lang of languages) {
    const target = join(folder, `${lang}.traineddata.gz`);
    if (existsSync(target)) continue;
    const source = join(dirname(require.resolve(`@tesseract.js-data/${lang}/package.json`)), '4.0.0_best_int', `${lang}.traineddata.gz`);
    try {
      symlinkSync(source, target);
    } catch (error) {
      // Another process made the same link first.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return folder;
}

/**
 * The copy orientation is compared on: long side at most ORIENTATION_PROBE_PIXELS. Scaled straight
 * from the page's pixels, so a raw page is never PNG-encoded in full only to be decoded again; a
 * page already that small is the probe itself (`png` when the caller has it encoded already).
 */
async function orientationProbe(image: PageImage, png?: Buffer): Promise<Buffer> {
  if (Math.max(image.width, image.height) <= ORIENTATION_PROBE_PIXELS) return png ?? toPng(image);
  return pageSharp(image)
    .resize({ width: ORIENTATION_PROBE_PIXELS, height: ORIENTATION_PROBE_PIXELS, fit: 'inside' })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

async function toPng(image: PageImage): Promise<Buffer> {
  if (image.format === 'png') return pageBytes(image);
  return pageSharp(image).png({ compressionLevel: 1 }).toBuffer();
}

function pageSharp(image: PageImage): Sharp {
  if (image.format === 'png') return sharp(pageBytes(image));
  return sharp(pageBytes(image), { raw: { width: image.width, height: image.height, channels: 4 } });
}

const pageBytes = (image: PageImage): Buffer => Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);

function allWords(page: TesseractPage): TesseractWord[] {
  return (page.blocks ?? []).flatMap((b) => b.paragraphs.flatMap((p) => p.lines.flatMap((l) => l.words)));
}

function toWord(word: TesseractWord): OcrWord {
  return { text: word.text.trim(), bbox: box(word.bbox), confidence: clamp01(word.confidence / 100) };
}

function keepWord(word: OcrWord): boolean {
  if (word.text.length === 0 || word.confidence < MIN_WORD_CONFIDENCE) return false;
  return /[\p{L}\p{N}]/u.test(word.text) || word.confidence >= MIN_SYMBOL_CONFIDENCE;
}

const box = (b: { x0: number; y0: number; x1: number; y1: number }): BBox => [b.x0, b.y0, b.x1, b.y1];
const clamp01 = (n: number): number => Math.min(1, Math.max(0, n));
const alnumCount = (words: OcrWord[]): number =>
  words.reduce((n, w) => n + (w.text.match(/[\p{L}\p{N}]/gu)?.length ?? 0), 0);

/** Mean word confidence, weighted by length: one confident long word outweighs a stray mark. */
function weightedConfidence(words: OcrWord[]): number | null {
  let sum = 0;
  let weight = 0;
  for (const w of words) {
    sum += w.confidence * w.text.length;
    weight += w.text.length;
  }
  return weight === 0 ? null : sum / weight;
}

/**
 * Upright text reads as confident words of several letters; a page read sideways or upside down
 * comes out as short fragments (`Ss`, `@Q`) of middling confidence, or reversed words of low one.
 */
function looksUpright(words: OcrWord[]): boolean {
  const letters = alnumCount(words);
  if (letters === 0) return false;
  const confidentLong = words.filter((w) => w.confidence >= 0.8 && alnumCount([w]) >= 3);
  return alnumCount(confidentLong) / letters >= 0.6;
}

function orientationScore(words: OcrWord[]): number {
  return words.reduce((score, w) => {
    const n = alnumCount([w]);
    return n >= 3 ? score + n * w.confidence * w.confidence : score;
  }, 0);
}

/** Tesseract's paragraphs become blocks; a single line much taller than the page's lines is a heading. */
function toBlocks(page: TesseractPage): OcrBlock[] {
  const paragraphs = (page.blocks ?? []).flatMap((b) => b.paragraphs);
  const lineHeights = paragraphs.flatMap((p) => p.lines.map((l) => l.bbox.y1 - l.bbox.y0)).sort((a, b) => a - b);
  const medianLine = lineHeights[Math.floor(lineHeights.length / 2)] ?? 0;
  const blocks: OcrBlock[] = [];
  for (const paragraph of paragraphs) {
    const lines = paragraph.lines
      .map((line) => line.words.map(toWord).filter(keepWord))
      .filter((words) => words.length > 0);
    const words = lines.flat();
    if (words.length === 0) continue;
    const single = lines.length === 1 && paragraph.lines.length === 1;
    const height = paragraph.lines[0] ? paragraph.lines[0].bbox.y1 - paragraph.lines[0].bbox.y0 : 0;
    blocks.push({
      kind: single && medianLine > 0 && height >= HEADING_LINE_HEIGHT_RATIO * medianLine ? 'heading' : 'text',
      text: lines.map((line) => line.map((w) => w.text).join(' ')).join('\n'),
      bbox: enclosingBox(words.map((w) => w.bbox)),
      confidence: weightedConfidence(words),
      words,
    });
  }
  return blocks;
}
