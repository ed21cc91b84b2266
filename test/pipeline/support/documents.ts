/**
 * Documents with known text, generated in the test: pages drawn as SVG text in DejaVu Sans and
 * rendered by sharp (like a scan), and PDFs that hold those scans or real text (pdf-lib).
 */
import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';

export interface PageSpec {
  /** Lines of text; empty for a blank page. */
  lines: string[];
  /** Clockwise degrees the printed page is turned, as if fed into the scanner sideways. */
  rotate?: 0 | 90 | 180 | 270;
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A page at ~150 DPI (A4 is 1240 × 1754 px), black text on white. */
export async function scanPage(spec: PageSpec, size = { width: 1240, height: 1754 }): Promise<Buffer> {
  const fontSize = 34;
  const text = spec.lines
    .map((line, i) => `<text x="110" y="${180 + i * fontSize * 1.9}" font-family="DejaVu Sans" font-size="${fontSize}">${escapeXml(line)}</text>`)
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}"><rect width="100%" height="100%" fill="#fff"/>${text}</svg>`;
  const upright = await sharp(Buffer.from(svg)).png().toBuffer();
  return spec.rotate ? sharp(upright).rotate(spec.rotate).png().toBuffer() : upright;
}

/** A PDF of scanned pages, each filling an A4 page (portrait or landscape as the scan is). */
export async function scannedPdf(pages: Buffer[]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  for (const png of pages) {
    const image = await doc.embedPng(png);
    const landscape = image.width > image.height;
    const [w, h] = landscape ? [842, 595] : [595, 842];
    doc.addPage([w, h]).drawImage(image, { x: 0, y: 0, width: w, height: h });
  }
  return doc.save();
}

/** A PDF with real text in Helvetica (WinAnsi covers German umlauts and ß). */
export async function textPdf(pages: string[][]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage([595, 842]);
    lines.forEach((line, i) => page.drawText(line, { x: 60, y: 760 - i * 28, size: 16, font }));
  }
  return doc.save();
}

/** The words of some lines, as a reader would count them. */
export function wordsOf(lines: string[]): string[] {
  return lines.join(' ').split(/\s+/).map(normalizeWord).filter((w) => w.length > 0);
}

export function normalizeWord(word: string): string {
  return word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '').toLowerCase();
}

/** Share of `expected` words found in `actual`, each found word used once. */
export function recovery(expected: string[], actualText: string): number {
  const bag = new Map<string, number>();
  for (const w of wordsOf([actualText])) bag.set(w, (bag.get(w) ?? 0) + 1);
  let found = 0;
  for (const w of expected) {
    const n = bag.get(w) ?? 0;
    if (n > 0) {
      found += 1;
      bag.set(w, n - 1);
    }
  }
  return expected.length === 0 ? 1 : found / expected.length;
}

export const SAMPLE_PAGES: PageSpec[] = [
  { lines: ['Quarterly report for the northern region', 'Revenue grew by twelve percent this year', 'The team shipped four new products'] },
  { lines: ['Sehr geehrte Damen und Herren', 'für Ihre Größe und Übersicht danken wir', 'Grüße aus München und Köln'], rotate: 90 },
  { lines: [] },
  { lines: ['Patient intake summary', 'Follow-up appointment scheduled next month', 'Medication list reviewed with the doctor'] },
];
