/**
 * Turns a Qwen3-VL `qwenvl html` answer into page blocks.
 *
 * The answer is untrusted text from a model that read an untrusted page. This parser only finds
 * the layout blocks and their boxes; each block's markup is passed on as `html` and sanitized with
 * the allowlist on assembly (src/pipeline/sanitize.ts), so nothing here has to be safe, only
 * tolerant. Shapes handled (TOOLING.md, "Qwen3-VL document parsing output"):
 *
 *   - `<html><body>` then one element per block: `<div class="text" data-bbox="x1 y1 x2 y2">`,
 *     `<h1>`–`<h6>`, `<p>`, `<table>`, lists, `<div class="image">` with an `<img>` inside;
 *   - the whole answer inside a ```html fence, or with prose before or after it (dropped);
 *   - boxes relative 0–1000 of the page (values like -1 at the edges), as `data-bbox`, as a
 *     `data-polygon`, or as a `[[x,y],…]` polygon; blocks without any box are kept (bbox null);
 *   - unbalanced or unclosed tags (the sanitizer repairs nesting later).
 */
import type { BBox, BlockKind } from './engine';

export interface ParsedBlock {
  kind: BlockKind;
  /** The block's markup, boxes removed (their units are not page pixels); sanitized on assembly. */
  html: string;
  /** Page pixels, clamped to the page; null when the model gave no usable box. */
  bbox: BBox | null;
  /** Where the block's markup lies in the answer, `[start, end)` in UTF-16 units. */
  span: readonly [number, number];
}

export interface ParsedAnswer {
  blocks: ParsedBlock[];
  /**
   * `blank`: the answer is empty or an empty document (a blank page);
   * `blocks`: at least one block; `malformed`: something was said, but no block came out of it.
   */
  outcome: 'blank' | 'blocks' | 'malformed';
}

/** Qwen3-VL's boxes are in thousandths of the page. */
const RELATIVE_SCALE = 1000;

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
/** Elements whose content is not markup: skipped whole, whatever it holds. */
const RAW = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'noscript', 'template', 'iframe', 'noembed', 'noframes']);
/** Never blocks of a document (scripts, styles, document metadata); dropped at the top level. */
const NOT_CONTENT = new Set([...RAW, 'head', 'meta', 'link', 'base', 'object', 'embed', 'svg', 'math', 'form', 'button', 'input', 'select']);
/** Blocks whose own tag carries meaning and is kept around the content. */
const KEEP_OUTER = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'ul', 'ol', 'dl', 'pre', 'blockquote', 'img']);

const KIND_BY_CLASS: ReadonlyArray<readonly [RegExp, BlockKind]> = [
  [/caption/, 'caption'],
  [/^(title|heading|header_?title|section[-_]?(header|title)|doc_title|paragraph_title)$/, 'heading'],
  [/^(table)$/, 'table'],
  [/^(image|figure|chart|picture|photo|seal|stamp|logo|qr_?code|barcode)$/, 'image'],
  [/^(formula|equation|math)$/, 'formula'],
  [/^(list|list_item)$/, 'list'],
  [/^(text|paragraph|plain_?text|abstract|reference|content|code)$/, 'text'],
];

const KIND_BY_TAG: Readonly<Record<string, BlockKind>> = {
  h1: 'heading', h2: 'heading', h3: 'heading', h4: 'heading', h5: 'heading', h6: 'heading',
  table: 'table', ul: 'list', ol: 'list', dl: 'list', img: 'image', figure: 'image',
  figcaption: 'caption', caption: 'caption', p: 'text', pre: 'text', blockquote: 'text',
};

interface Element {
  name: string;
  attrs: Map<string, string>;
  /** Answer offsets: the open tag's start, the content's start and end, the close tag's end. */
  start: number;
  contentStart: number;
  contentEnd: number;
  end: number;
  children: Element[];
  /** Text directly inside (not in child elements) holds a letter or digit. */
  ownText: boolean;
}

export function parseQwenHtml(answer: string, page: { width: number; height: number }): ParsedAnswer {
  const [from, to] = markupRange(answer);
  if (from >= to) return { blocks: [], outcome: answer.replace(/```[a-zA-Z]*/g, '').trim() === '' ? 'blank' : 'malformed' };
  const root = buildTree(answer, from, to);
  const top = documentBody(answer, root);
  const blocks: ParsedBlock[] = [];
  for (const part of top) collectBlocks(answer, part, page, blocks);
  if (blocks.length > 0) return { blocks, outcome: 'blocks' };
  // Tags, but nothing in them: an empty document is a blank page; broken markup is not.
  const bare = answer
    .slice(from, to)
    .replace(/<head[\s>][\s\S]*?<\/head\s*>|<\/?(html|body)\s*>|<!doctype[^>]*>|\s+/gi, '');
  return { blocks: [], outcome: bare === '' ? 'blank' : 'malformed' };
}

/**
 * The part of the answer that is markup: a fenced block's content if there is a fence holding a
 * tag, else from the first tag to the closing `</html>` (or `</body>`), or to the end of an answer
 * that has none (cut short); prose outside is dropped. Empty when there is no tag at all (prose
 * only is not an answer in the asked format).
 */
function markupRange(answer: string): [number, number] {
  const fence = /```[a-zA-Z]*[^\S\n]*\n?([\s\S]*?)(?:```|$)/g;
  for (let m = fence.exec(answer); m; m = fence.exec(answer)) {
    const inner = m[1] ?? '';
    if (/<[a-zA-Z!/]/.test(inner)) {
      const start = m.index + m[0].indexOf(inner);
      return trimToTags(answer, start, start + inner.length);
    }
  }
  return trimToTags(answer, 0, answer.length);
}

function trimToTags(text: string, from: number, to: number): [number, number] {
  const slice = text.slice(from, to);
  const first = slice.search(/<[a-zA-Z!/]/);
  if (first < 0) return [0, 0];
  let end = slice.length;
  for (const m of slice.matchAll(/<\/(html|body)\s*>/gi)) end = m.index + m[0].length;
  return [from + first, from + Math.max(first, end)];
}

const ALNUM = /[\p{L}\p{N}]/u;
const TOKEN = /<!--[\s\S]*?(?:-->|$)|<!\[CDATA\[[\s\S]*?(?:\]\]>|$)|<![^>]*>|<\?[^>]*>|<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
const ATTR = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

/** A forgiving element tree of `answer[from, to)`: unknown closings ignored, unclosed ones closed at the end. */
function buildTree(answer: string, from: number, to: number): Element {
  const root: Element = { name: '#root', attrs: new Map(), start: from, contentStart: from, contentEnd: to, end: to, children: [], ownText: false };
  const stack: Element[] = [root];
  const source = answer.slice(0, to);
  TOKEN.lastIndex = from;
  let textFrom = from;
  const noteText = (until: number): void => {
    if (until > textFrom && ALNUM.test(answer.slice(textFrom, until).replace(/<[^>]*$/, ''))) stack[stack.length - 1]!.ownText = true;
  };
  for (let m = TOKEN.exec(source); m; m = TOKEN.exec(source)) {
    noteText(m.index);
    textFrom = TOKEN.lastIndex;
    const [whole, closing, rawName, rawAttrs] = m;
    if (!rawName) continue; // comment, doctype, processing instruction
    const name = rawName.toLowerCase();
    const tagEnd = m.index + whole.length;
    if (closing) {
      const at = stack.map((e) => e.name).lastIndexOf(name);
      if (at <= 0) continue;
      // Elements left open inside the one closed here end where it does.
      while (stack.length > at) {
        const open = stack.pop()!;
        open.contentEnd = m.index;
        open.end = stack.length === at ? tagEnd : m.index;
      }
      continue;
    }
    const element: Element = { name, attrs: parseAttrs(rawAttrs ?? ''), start: m.index, contentStart: tagEnd, contentEnd: tagEnd, end: tagEnd, children: [], ownText: false };
    stack[stack.length - 1]!.children.push(element);
    if (RAW.has(name)) {
      // Raw text up to its closing tag (or the end): a `</div>` inside a script is not markup.
      const close = new RegExp(`</${name}\\s*>`, 'ig');
      close.lastIndex = tagEnd;
      const found = close.exec(source);
      element.contentEnd = found ? found.index : to;
      element.end = found ? found.index + found[0].length : to;
      TOKEN.lastIndex = element.end;
      textFrom = element.end;
      continue;
    }
    if (VOID.has(name) || /\/\s*$/.test(rawAttrs ?? '')) continue;
    stack.push(element);
  }
  noteText(to);
  for (const open of stack.slice(1)) {
    open.contentEnd = to;
    open.end = to;
  }
  return root;
}

function parseAttrs(raw: string): Map<string, string> {
  const attrs = new Map<string, string>();
  ATTR.lastIndex = 0;
  for (let m = ATTR.exec(raw); m; m = ATTR.exec(raw)) {
    const name = m[1]!.toLowerCase();
    if (!attrs.has(name)) attrs.set(name, m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** The elements (and bare text) that make up the page: the children of `<body>`, else of `<html>`, else of the root. */
function documentBody(answer: string, root: Element): Element[] {
  const html = root.children.find((e) => e.name === 'html');
  const scope = html ?? root;
  const body = scope.children.find((e) => e.name === 'body');
  const parts = (body ?? scope).children.filter((e) => !NOT_CONTENT.has(e.name) && e.name !== 'html' && e.name !== 'body');
  // Each run of text directly in the body (no element around it) is a block of its own.
  const container = body ?? scope;
  if (container.ownText) parts.push(...textRuns(answer, container));
  return parts.sort((a, b) => a.start - b.start);
}

/** The runs of text lying directly in `container`, between its elements, as text-only elements. */
function textRuns(answer: string, container: Element): Element[] {
  const runs: Element[] = [];
  let at = container.contentStart;
  for (const [start, end] of [...container.children.map((c) => [c.start, c.end] as const), [container.contentEnd, container.contentEnd] as const]) {
    if (start > at && ALNUM.test(answer.slice(at, start).replace(/<[^>]*>?/g, ''))) runs.push({ name: '#text', attrs: new Map(), start: at, contentStart: at, contentEnd: start, end: start, children: [], ownText: true });
    at = Math.max(at, end);
  }
  return runs;
}

function collectBlocks(answer: string, element: Element, page: { width: number; height: number }, out: ParsedBlock[]): void {
  const bbox = boxOf(element.attrs, page);
  // A box-less wrapper around boxed blocks (`<div><div data-bbox>…`) stands for its children.
  if (!bbox && !element.ownText && element.children.some(hasBoxDeep)) {
    for (const child of element.children) if (!NOT_CONTENT.has(child.name)) collectBlocks(answer, child, page, out);
    return;
  }
  const kind = kindOf(element);
  // Markup without a letter or digit in it (`<table><tr><td>` and nothing more) is no block;
  // an image block is one without text.
  if (!hasTextDeep(element) && kind !== 'image') return;
  const raw = KEEP_OUTER.has(element.name) ? answer.slice(element.start, element.end) : answer.slice(element.contentStart, element.contentEnd);
  // A tag cut off at the end of the answer is no markup.
  const html = stripBoxes(raw.replace(/<[^>]*$/, '')).trim();
  if (html === '' && kind !== 'image') return;
  out.push({ kind, html, bbox, span: [element.start, element.end] });
}

const hasTextDeep = (e: Element): boolean => e.ownText || e.children.some(hasTextDeep);
const hasBoxDeep = (e: Element): boolean => e.attrs.has('data-bbox') || e.attrs.has('data-polygon') || e.children.some(hasBoxDeep);

function kindOf(element: Element): BlockKind {
  const classes = (element.attrs.get('class') ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  for (const cls of classes) for (const [pattern, kind] of KIND_BY_CLASS) if (pattern.test(cls)) return kind;
  return KIND_BY_TAG[element.name] ?? (element.ownText || element.children.length > 0 ? 'text' : 'other');
}

const BOX_ATTRS = /\s(?:data-bbox|data-polygon)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+)/gi;
const stripBoxes = (html: string): string => html.replace(BOX_ATTRS, '');

/**
 * A block's box in page pixels: four numbers are `x1 y1 x2 y2`, six or more an `x,y` polygon
 * (its enclosing box); relative 0–1000 values are scaled to the page and clamped to it.
 */
export function boxOf(attrs: ReadonlyMap<string, string>, page: { width: number; height: number }): BBox | null {
  for (const name of ['data-bbox', 'data-polygon']) {
    const raw = attrs.get(name);
    if (raw === undefined) continue;
    const box = relativeBox(raw);
    if (box) return toPixels(box, page);
  }
  return null;
}

function relativeBox(raw: string): BBox | null {
  const numbers = (raw.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number);
  if (numbers.length === 4) return [numbers[0]!, numbers[1]!, numbers[2]!, numbers[3]!];
  if (numbers.length < 6 || numbers.length % 2 !== 0) return null;
  const xs = numbers.filter((_, i) => i % 2 === 0);
  const ys = numbers.filter((_, i) => i % 2 === 1);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

function toPixels([a, b, c, d]: BBox, page: { width: number; height: number }): BBox | null {
  const x = (v: number): number => Math.min(page.width, Math.max(0, (v / RELATIVE_SCALE) * page.width));
  const y = (v: number): number => Math.min(page.height, Math.max(0, (v / RELATIVE_SCALE) * page.height));
  const [x1, x2] = [x(Math.min(a, c)), x(Math.max(a, c))];
  const [y1, y2] = [y(Math.min(b, d)), y(Math.max(b, d))];
  // Nothing left inside the page: the box says nothing about where the block is.
  if (x2 <= x1 || y2 <= y1) return null;
  return [x1, y1, x2, y2];
}
