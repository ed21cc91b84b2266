/**
 * One document per upload from its pages: HTML (a `<section data-page="n">` per page, in order,
 * each block with `data-bbox` in page pixels), plain text, word count, an overall confidence and
 * the JSON view (`{version, pageCount, pages: [{page, width, height, engine, confidence, rotation,
 * blocks, fallback?}]}`).
 */
import type { BBox, OcrBlock, OcrPage, PageFallback } from '../ocr/engine';
import { escapeHtml, htmlToText, sanitizeResultHtml } from './sanitize';

export const RESULT_JSON_VERSION = 1;

export interface JsonBlock {
  kind: OcrBlock['kind'];
  bbox: BBox | null;
  confidence: number | null;
  text: string;
  html?: string;
  words?: OcrBlock['words'];
}

export interface JsonPage {
  page: number;
  width: number;
  height: number;
  /** What produced the page: the model, or, with `fallback` set, the text layer or CPU engine that stood in. */
  engine: string;
  confidence: number | null;
  rotation: OcrPage['rotation'];
  blocks: JsonBlock[];
  /** Present only on a page the primary engine failed on every attempt: which engine, why, how often. */
  fallback?: PageFallback;
}

export interface ResultJson {
  version: typeof RESULT_JSON_VERSION;
  pageCount: number;
  pages: JsonPage[];
}

export interface AssembledDocument {
  html: string;
  text: string;
  wordCount: number;
  /** 0–1, word-weighted over pages with text; null when no page had any. */
  confidence: number | null;
  json: ResultJson;
  /** Engines that produced pages, e.g. `tesseract.js-7/eng+deu`, joined with `+` when several did. */
  model: string;
}

export function assembleDocument(pages: readonly OcrPage[]): AssembledDocument {
  const ordered = [...pages].sort((a, b) => a.page - b.page);
  const jsonPages = ordered.map(toJsonPage);
  const body = jsonPages.map(sectionHtml).join('\n');
  const html = [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><meta name="generator" content="untxt"><title>OCR result</title></head>',
    // The whole body passes the allowlist once more: each part was escaped or sanitized, this
    // makes the guarantee hold for the assembled document as a whole.
    `<body>\n${sanitizeResultHtml(body)}\n</body></html>`,
    '',
  ].join('\n');
  const text = jsonPages.map((p) => p.blocks.map((b) => b.text).filter((t) => t.length > 0).join('\n')).join('\n\n').trim();
  return {
    html,
    text,
    wordCount: countWords(text),
    confidence: documentConfidence(jsonPages),
    json: { version: RESULT_JSON_VERSION, pageCount: jsonPages.length, pages: jsonPages },
    model: [...new Set(ordered.map((p) => p.engine))].join('+'),
  };
}

function toJsonPage(page: OcrPage): JsonPage {
  return {
    page: page.page,
    width: page.width,
    height: page.height,
    engine: page.engine,
    confidence: page.confidence,
    rotation: page.rotation,
    blocks: page.blocks.map((block) => {
      const html = block.html === undefined ? undefined : sanitizeResultHtml(block.html);
      const text = block.text ?? (html === undefined ? '' : htmlToText(html));
      return {
        kind: block.kind,
        bbox: block.bbox && roundBox(block.bbox),
        confidence: block.confidence,
        text,
        ...(html !== undefined ? { html } : {}),
        ...(block.words ? { words: block.words.map((w) => ({ ...w, bbox: roundBox(w.bbox) })) } : {}),
      };
    }),
    ...(page.fallback ? { fallback: { from: page.fallback.from, reason: page.fallback.reason, attempts: page.fallback.attempts } } : {}),
  };
}

function sectionHtml(page: JsonPage): string {
  const blocks = page.blocks.map(blockHtml).join('\n');
  return `<section data-page="${page.page}">\n${blocks}\n</section>`;
}

function blockHtml(block: JsonBlock): string {
  const bbox = block.bbox ? ` data-bbox="${block.bbox.join(' ')}"` : '';
  if (block.html !== undefined) return `<div class="${block.kind}"${bbox}>${block.html}</div>`;
  const inner = escapeHtml(block.text).replace(/\n/g, '<br>');
  if (block.kind === 'heading') return `<h2 class="heading"${bbox}>${inner}</h2>`;
  return `<div class="${block.kind}"${bbox}><p>${inner}</p></div>`;
}

const roundBox = (b: BBox): BBox => [Math.round(b[0]), Math.round(b[1]), Math.round(b[2]), Math.round(b[3])];

/** Words as a reader counts them: runs separated by whitespace that hold a letter or digit. */
export function countWords(text: string): number {
  let n = 0;
  for (const token of text.split(/\s+/)) if (/[\p{L}\p{N}]/u.test(token)) n += 1;
  return n;
}

function documentConfidence(pages: JsonPage[]): number | null {
  let sum = 0;
  let weight = 0;
  for (const page of pages) {
    if (page.confidence === null) continue;
    const words = Math.max(1, countWords(page.blocks.map((b) => b.text).join(' ')));
    sum += page.confidence * words;
    weight += words;
  }
  return weight === 0 ? null : sum / weight;
}
