/**
 * The allowlist every piece of result HTML passes through. Results are opened in browsers, and
 * their content came from a model reading an untrusted document: a page that says
 * `<script>` must come out as text or not at all.
 *
 * Allowed: structure (sections, blocks, paragraphs, headings, lists, tables, inline emphasis),
 * the attributes `class`, `data-bbox`, `data-page` (and `colspan`/`rowspan` on cells). Nothing
 * that loads or runs anything: no scripts, event handlers, styles, iframes, forms, SVG or MathML,
 * and no URL attributes at all (`src`/`href` are dropped whatever their scheme).
 */
import type sanitizeHtmlType from 'sanitize-html';
import { requireEsm } from './host-require';

// sanitize-html's parser (htmlparser2 10) is an ES module.
const sanitizeHtml = requireEsm<typeof sanitizeHtmlType>('sanitize-html', () => require('sanitize-html'));
type SanitizeOptions = sanitizeHtmlType.IOptions;
type Attributes = sanitizeHtmlType.Attributes;

const STRUCTURE = ['section', 'div', 'p', 'span', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'code', 'figure', 'figcaption'];
const LISTS = ['ul', 'ol', 'li', 'dl', 'dt', 'dd'];
const TABLES = ['table', 'caption', 'colgroup', 'col', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td'];
const INLINE = ['strong', 'em', 'b', 'i', 'u', 's', 'sub', 'sup', 'mark', 'small'];

const BBOX = /^-?\d+(\.\d+)? -?\d+(\.\d+)? -?\d+(\.\d+)? -?\d+(\.\d+)?$/;
const PAGE = /^[1-9]\d{0,5}$/;
const SPAN = /^[1-9]\d{0,2}$/;
const CLASS_TOKEN = /^[a-z][a-z0-9_-]{0,39}$/;

const OPTIONS: SanitizeOptions = {
  allowedTags: [...STRUCTURE, ...LISTS, ...TABLES, ...INLINE],
  allowedAttributes: { '*': ['class', 'data-bbox', 'data-page'], td: ['colspan', 'rowspan'], th: ['colspan', 'rowspan'] },
  allowedSchemes: [],
  allowedSchemesByTag: {},
  allowProtocolRelative: false,
  allowVulnerableTags: false,
  disallowedTagsMode: 'discard',
  // Their content is code or markup, not document text: drop it with the tag.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'iframe', 'object', 'embed', 'svg', 'math', 'template', 'title', 'head', 'select', 'button', 'xmp', 'noembed', 'noframes'],
  parser: { lowerCaseAttributeNames: true },
  transformTags: {
    '*': (tagName, attribs) => ({ tagName, attribs: validAttributes(attribs) }),
  },
};

function validAttributes(attribs: Attributes): Attributes {
  const out: Attributes = {};
  for (const [name, value] of Object.entries(attribs)) {
    const v = value.trim();
    if (name === 'data-bbox' && !BBOX.test(v)) continue;
    if (name === 'data-page' && !PAGE.test(v)) continue;
    if ((name === 'colspan' || name === 'rowspan') && !SPAN.test(v)) continue;
    if (name === 'class') {
      // Checked here rather than with sanitize-html's allowedClasses, whose RegExp check fails
      // across realms (see requireEsm).
      const tokens = v.split(/\s+/).filter((t) => CLASS_TOKEN.test(t));
      if (tokens.length > 0) out[name] = tokens.join(' ');
      continue;
    }
    out[name] = v;
  }
  return out;
}

export function sanitizeResultHtml(html: string): string {
  return sanitizeHtml(html, OPTIONS);
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** The readable text of an HTML fragment: tags removed, block ends as line breaks, entities decoded. */
export function htmlToText(html: string): string {
  const marked = sanitizeResultHtml(html).replace(/<br\s*\/?>|<\/(p|div|section|h[1-6]|li|tr|dt|dd|pre|blockquote|caption|figcaption)>/gi, '\n').replace(/<\/t[dh]>/gi, '\t');
  const stripped = sanitizeHtml(marked, { allowedTags: [], allowedAttributes: {}, nonTextTags: OPTIONS.nonTextTags });
  return stripped
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
      if (entity[0] === '#') {
        const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
      }
      return ENTITIES[entity.toLowerCase()] ?? whole;
    })
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
