/**
 * A PDF page's own text layer as an OCR page: what the worker reads a page from when the model
 * failed it on every attempt (DESIGN "The GPU worker": never fail a document for one bad page).
 *
 * pdf.js gives the page's text as runs (`getTextContent`), each with a transform into PDF user
 * space. Every run is mapped through the same viewport the page image was rendered with, so the
 * boxes are in that image's pixels (origin top-left, the page's /Rotate applied), exactly as an
 * engine reports them. Runs become lines (same baseline, no wide gap) and lines become paragraph
 * blocks (close line spacing, overlapping extent, similar size); the grouping happens along the
 * text's own direction, so a rotated page or sideways text groups as a reader would.
 *
 * A page whose layer holds fewer than a few letters (a scan with a stray page number or producer
 * stamp) counts as having none: its text is in the pixels, not the layer. A layer with more
 * letters can still cover little of the page (a scanned fax with a Bates number or a
 * "CONFIDENTIAL" stamp): `inkCoverage` measures how much of the page's ink lies in its boxes.
 */
import { type BBox, enclosingBox, HEADING_LINE_HEIGHT_RATIO, type OcrBlock, type OcrPage, type PageImage } from '../ocr/engine';
import type { PdfTextContent, PdfTextItem, PdfViewport } from './pdfjs';

/** The engine name a page read from the text layer carries in the JSON view. */
export const TEXT_LAYER_ENGINE = 'pdf-text-layer';
/** Fewer letters than this and the page has no usable text layer. */
export const MIN_TEXT_LAYER_LETTERS = 3;

/** pdf.js's own defaults when a font states no ascent or descent. */
const DEFAULT_ASCENT = 0.8;
const DEFAULT_DESCENT = -0.2;
/** Runs on one line whose baselines differ by more than this share of the line's height are separate lines. */
const BASELINE_TOLERANCE = 0.4;
/** A gap along a line wider than this many line heights separates columns (or table cells). */
const COLUMN_GAP = 1.5;
/** A gap wider than this many line heights between two runs is a space. */
const SPACE_GAP = 0.15;
/** Consecutive lines further apart than this many line heights (baseline to baseline) start a new block. */
const PARAGRAPH_LINE_SPACING = 1.75;
/** Lines whose heights differ by more than this ratio do not share a block (a heading above body text). */
const SIZE_RATIO = 1.3;

type Matrix = readonly number[];

/** One text run placed on the page image, in the coordinates of its own reading direction. */
interface Run {
  text: string;
  /** Corner box in image pixels. */
  box: BBox;
  /** Direction bucket: runs read in different directions never share a line. */
  direction: number;
  /** Distance along the reading direction where the run starts and ends. */
  start: number;
  end: number;
  /** Baseline position across the reading direction, growing towards the next line. */
  baseline: number;
  /** Font height in pixels. */
  height: number;
}

interface Line {
  runs: Run[];
  direction: number;
  start: number;
  end: number;
  baseline: number;
  height: number;
}

/**
 * The page's text layer in the pixels of the image rendered with `viewport` (`width × height`,
 * the rendered image's size), or null when it has fewer than `MIN_TEXT_LAYER_LETTERS` letters.
 */
export function textLayerPage(
  content: PdfTextContent,
  viewport: Pick<PdfViewport, 'transform'>,
  page: { page: number; width: number; height: number },
): OcrPage | null {
  const runs = content.items.flatMap((item) => {
    if (!('str' in item)) return [];
    const run = placeRun(item, content.styles[item.fontName] ?? {}, viewport.transform, page);
    return run ? [run] : [];
  });
  if (letterCount(runs.map((r) => r.text).join('')) < MIN_TEXT_LAYER_LETTERS) return null;
  return {
    page: page.page,
    width: page.width,
    height: page.height,
    engine: TEXT_LAYER_ENGINE,
    // The layer is the document's own text, but nothing measures how faithful it is.
    confidence: null,
    rotation: 0,
    blocks: toBlocks(runs),
  };
}

function placeRun(item: PdfTextItem, style: { ascent?: number; descent?: number; vertical?: boolean }, view: Matrix, page: { width: number; height: number }): Run | null {
  // Glyphs a font maps to no character come out as private-use code points or U+FFFD: not text.
  const text = item.str.replace(/\s+/g, ' ').replace(/[\p{Cc}\p{Co}\uFFFD]/gu, '');
  if (text.trim().length === 0) return null;
  const m = multiply(view, item.transform);
  // Text space x (the advance) and y (glyph up) as pixel vectors; their lengths are the font size in pixels.
  const advanceUnit = unit(m[0]!, m[1]!);
  const upUnit = unit(m[2]!, m[3]!);
  const fontHeight = Math.hypot(m[2]!, m[3]!);
  if (!advanceUnit || !upUnit || fontHeight === 0) return null;
  let along = advanceUnit;
  let up = upUnit;
  // Width is in user space units along the text; the viewport scales every direction alike.
  const scale = Math.hypot(view[0]!, view[1]!);
  const origin = { x: m[4]!, y: m[5]! };
  let corners: Array<{ x: number; y: number }>;
  if (style.vertical) {
    // Vertical writing advances down the glyph column, centred on the origin.
    const advance = item.height * scale;
    const down = { x: -up.x, y: -up.y };
    const half = fontHeight / 2;
    corners = [0, advance].flatMap((t) => [-half, half].map((s) => ({ x: origin.x + t * down.x + s * advanceUnit.x, y: origin.y + t * down.y + s * advanceUnit.y })));
    [along, up] = [down, { x: -advanceUnit.x, y: -advanceUnit.y }];
  } else {
    const ascent = style.ascent && style.ascent > 0 ? style.ascent : DEFAULT_ASCENT;
    const descent = style.descent !== undefined && style.descent < 0 ? style.descent : DEFAULT_DESCENT;
    const advance = item.width * scale;
    corners = [0, advance].flatMap((t) =>
      [descent, ascent].map((s) => ({ x: origin.x + t * advanceUnit.x + s * fontHeight * upUnit.x, y: origin.y + t * advanceUnit.y + s * fontHeight * upUnit.y })),
    );
  }
  const xs = corners.map((c) => c.x);
  const ys = corners.map((c) => c.y);
  const box: BBox = [clamp(Math.min(...xs), 0, page.width), clamp(Math.min(...ys), 0, page.height), clamp(Math.max(...xs), 0, page.width), clamp(Math.max(...ys), 0, page.height)];
  // Text outside the visible page (beyond the crop box) is not on the page image.
  if (box[2] - box[0] <= 0 || box[3] - box[1] <= 0) return null;
  const alongPositions = corners.map((c) => c.x * along.x + c.y * along.y);
  return {
    text,
    box,
    direction: (Math.round((Math.atan2(along.y, along.x) * 180) / Math.PI) + 360) % 360,
    start: Math.min(...alongPositions),
    end: Math.max(...alongPositions),
    // Across = minus "up": the next line of upright text lies further down.
    baseline: -(origin.x * up.x + origin.y * up.y),
    height: fontHeight,
  };
}

function toBlocks(runs: Run[]): OcrBlock[] {
  const lines = toLines(runs);
  const heights = lines.map((l) => l.height).sort((a, b) => a - b);
  const typical = heights[Math.floor(heights.length / 2)] ?? 0;
  return toParagraphs(lines).map((paragraph) => {
    const single = paragraph.length === 1;
    return {
      kind: single && typical > 0 && paragraph[0]!.height >= HEADING_LINE_HEIGHT_RATIO * typical ? 'heading' : 'text',
      text: paragraph.map(lineText).join('\n'),
      bbox: enclosingBox(paragraph.flatMap((line) => line.runs.map((r) => r.box))),
      confidence: null,
    };
  });
}

/** Runs sharing a direction and a baseline, split where a gap is wide enough to be a column gutter. */
function toLines(runs: Run[]): Line[] {
  const sorted = [...runs].sort((a, b) => a.direction - b.direction || a.baseline - b.baseline || a.start - b.start);
  const rows: Run[][] = [];
  for (const run of sorted) {
    const row = rows[rows.length - 1];
    const first = row?.[0];
    if (row && first && first.direction === run.direction && Math.abs(run.baseline - first.baseline) <= BASELINE_TOLERANCE * Math.max(first.height, run.height)) {
      row.push(run);
    } else {
      rows.push([run]);
    }
  }
  const lines: Line[] = [];
  for (const row of rows) {
    row.sort((a, b) => a.start - b.start);
    let current: Run[] = [];
    for (const run of row) {
      const previous = current[current.length - 1];
      if (previous && run.start - previous.end > COLUMN_GAP * Math.max(previous.height, run.height)) {
        lines.push(toLine(current));
        current = [];
      }
      current.push(run);
    }
    if (current.length > 0) lines.push(toLine(current));
  }
  return lines;
}

function toLine(runs: Run[]): Line {
  return {
    runs,
    direction: runs[0]!.direction,
    start: runs.reduce((min, r) => Math.min(min, r.start), Infinity),
    end: runs.reduce((max, r) => Math.max(max, r.end), -Infinity),
    baseline: runs.reduce((sum, r) => sum + r.baseline, 0) / runs.length,
    height: runs.reduce((max, r) => Math.max(max, r.height), 0),
  };
}

/** Lines in reading order, each joining the block just above it when spacing, extent and size agree. */
function toParagraphs(lines: Line[]): Line[][] {
  const ordered = [...lines].sort((a, b) => a.direction - b.direction || a.baseline - b.baseline || a.start - b.start);
  const paragraphs: Line[][] = [];
  for (const line of ordered) {
    const joins = (paragraph: Line[]): boolean => {
      const last = paragraph[paragraph.length - 1]!;
      const gap = line.baseline - last.baseline;
      const larger = Math.max(last.height, line.height);
      return (
        last.direction === line.direction &&
        gap > BASELINE_TOLERANCE * larger &&
        gap <= PARAGRAPH_LINE_SPACING * larger &&
        larger / Math.min(last.height, line.height) <= SIZE_RATIO &&
        Math.min(last.end, line.end) > Math.max(last.start, line.start) - larger
      );
    };
    // The most recent block first: in a two-column page the line continues its own column.
    const target = [...paragraphs].reverse().find(joins);
    if (target) target.push(line);
    else paragraphs.push([line]);
  }
  // Main reading direction first (the one with the most text), then top to bottom within it.
  const weight = new Map<number, number>();
  for (const line of lines) weight.set(line.direction, (weight.get(line.direction) ?? 0) + lineText(line).length);
  return paragraphs.sort(
    (a, b) => (weight.get(b[0]!.direction) ?? 0) - (weight.get(a[0]!.direction) ?? 0) || a[0]!.direction - b[0]!.direction || a[0]!.baseline - b[0]!.baseline || a[0]!.start - b[0]!.start,
  );
}

function lineText(line: Line): string {
  let text = '';
  let previous: Run | undefined;
  for (const run of line.runs) {
    if (previous && !/\s$/.test(text) && !/^\s/.test(run.text) && run.start - previous.end > SPACE_GAP * Math.max(previous.height, run.height)) text += ' ';
    text += run.text;
    previous = run;
  }
  return text.trim().replace(/ {2,}/g, ' ');
}

/** `a × b` for pdf.js's `[a, b, c, d, e, f]` affine matrices (b applied first). */
function multiply(a: Matrix, b: Matrix): number[] {
  return [
    a[0]! * b[0]! + a[2]! * b[1]!,
    a[1]! * b[0]! + a[3]! * b[1]!,
    a[0]! * b[2]! + a[2]! * b[3]!,
    a[1]! * b[2]! + a[3]! * b[3]!,
    a[0]! * b[4]! + a[2]! * b[5]! + a[4]!,
    a[1]! * b[4]! + a[3]! * b[5]! + a[5]!,
  ];
}

function unit(x: number, y: number): { x: number; y: number } | null {
  const length = Math.hypot(x, y);
  return length === 0 || !Number.isFinite(length) ? null : { x: x / length, y: y / length };
}

/** A pixel darker than this (0–255 luma) is ink: text, lines, a scan's print; not paper or light noise. */
const INK_LUMA = 160;
/** Boxes from font metrics may miss a glyph's overhang by a pixel or two. */
const BOX_PADDING = 2;
/** Every STRIDE-th pixel in each direction is sampled: the share needs no more, and a page is millions of pixels. */
const STRIDE = 2;

/**
 * The share (0–1) of the page image's inked pixels that lie inside `boxes` (the text layer's
 * blocks, in the image's pixels); null when the image has no ink or is not raw RGBA. A
 * born-digital page is near 1 (all its ink is its text); a scan with a small text stamp near 0.
 */
export function inkCoverage(image: PageImage, boxes: ReadonlyArray<BBox | null>): number | null {
  if (image.format !== 'rgba') return null;
  const { width, height, data } = image;
  const cols = Math.ceil(width / STRIDE);
  const rows = Math.ceil(height / STRIDE);
  // The boxes painted onto a mask at the sampling grid, so each sample is one lookup.
  const covered = new Uint8Array(cols * rows);
  for (const box of boxes) {
    if (!box) continue;
    const x1 = Math.max(0, Math.floor((box[0] - BOX_PADDING) / STRIDE));
    const x2 = Math.min(cols - 1, Math.ceil((box[2] + BOX_PADDING) / STRIDE));
    const y1 = Math.max(0, Math.floor((box[1] - BOX_PADDING) / STRIDE));
    const y2 = Math.min(rows - 1, Math.ceil((box[3] + BOX_PADDING) / STRIDE));
    for (let y = y1; y <= y2; y += 1) covered.fill(1, y * cols + x1, y * cols + x2 + 1);
  }
  let ink = 0;
  let inside = 0;
  for (let row = 0; row < rows; row += 1) {
    for (let col = 0; col < cols; col += 1) {
      const i = (row * STRIDE * width + col * STRIDE) * 4;
      // Rec. 601 luma, in integers.
      if ((299 * data[i]! + 587 * data[i + 1]! + 114 * data[i + 2]!) / 1000 >= INK_LUMA) continue;
      ink += 1;
      inside += covered[row * cols + col]!;
    }
  }
  return ink === 0 ? null : inside / ink;
}

/** Letters (any script) in the page's blocks: what two readings of one page are compared by. */
export function pageLetters(page: OcrPage): number {
  return page.blocks.reduce((sum, block) => sum + letterCount(block.text ?? block.html?.replace(/<[^>]*>/g, '') ?? ''), 0);
}

const clamp = (n: number, low: number, high: number): number => Math.min(high, Math.max(low, n));
const letterCount = (text: string): number => text.match(/\p{L}/gu)?.length ?? 0;
