import { assembleDocument, countWords } from '../../src/pipeline/assemble';
import { htmlToText, sanitizeResultHtml } from '../../src/pipeline/sanitize';
import type { OcrPage } from '../../src/ocr/engine';

/** Payloads from the usual XSS cheat sheets, as a model might copy them off a hostile page. */
const XSS_CORPUS = [
  '<script>alert(1)</script>',
  '<SCRIPT SRC=//evil.example/x.js></SCRIPT>',
  '<img src=x onerror=alert(1)>',
  '<img src="https://evil.example/track.png">',
  '<p onclick="alert(1)" onmouseover="alert(2)">click</p>',
  '<a href="javascript:alert(1)">link</a>',
  '<a href="JaVaScRiPt:alert(1)">mixed case</a>',
  '<a href="java&#x09;script:alert(1)">entity</a>',
  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>',
  '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
  '<svg><script>alert(1)</script></svg>',
  '<svg onload=alert(1)><circle r="10"/></svg>',
  '<math><mtext><script>alert(1)</script></mtext></math>',
  '<style>body{background:url("javascript:alert(1)")}</style>',
  '<div style="background-image:url(https://evil.example/x)">styled</div>',
  '<p style="width: expression(alert(1))">expr</p>',
  '<iframe src="https://evil.example"></iframe>',
  '<object data="x.swf"></object><embed src="x.swf">',
  '<form action="https://evil.example"><input name=q><button>go</button></form>',
  '<link rel=stylesheet href="https://evil.example/x.css">',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<base href="https://evil.example/">',
  '<table background="javascript:alert(1)"><tr><td>cell</td></tr></table>',
  '<div data-bbox="1 2 3 4" data-x="javascript:alert(1)">attr</div>',
  '<div data-bbox="javascript:alert(1)">bad bbox</div>',
  '<video><source onerror="alert(1)"></video><audio src=x onerror=alert(1)>',
  '<details open ontoggle=alert(1)>',
  '<template><script>alert(1)</script></template>',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
  '<!--<script>alert(1)</script>-->',
  '<div class="text" id="x" name="y" tabindex="1" formaction="javascript:alert(1)">ids</div>',
  '"><script>alert(1)</script>',
  '<scr<script>ipt>alert(1)</scr</script>ipt>',
];

/** What must never survive: anything that runs, loads or styles. */
const DANGEROUS = [
  /<script/i,
  /<svg/i,
  /<math/i,
  /<iframe/i,
  /<object/i,
  /<embed/i,
  /<form/i,
  /<input/i,
  /<link/i,
  /<meta/i,
  /<base/i,
  /<style/i,
  /<img/i,
  /<a[\s>]/i,
  /\son[a-z]+\s*=/i,
  /\sstyle\s*=/i,
  /\s(src|href|action|formaction|background|data)\s*=/i,
  /javascript:/i,
  /data:/i,
  /https?:/i,
];

/** Tags that `sanitizeResultHtml` may leave. */
const ALLOWED_TAG = /^(section|div|p|span|br|hr|h[1-6]|blockquote|pre|code|figure|figcaption|ul|ol|li|dl|dt|dd|table|caption|colgroup|col|thead|tbody|tfoot|tr|th|td|strong|em|b|i|u|s|sub|sup|mark|small)$/;

function page(blocks: OcrPage['blocks'], n = 1): OcrPage {
  return { page: n, width: 1000, height: 1400, engine: 'test', confidence: 0.9, rotation: 0, blocks };
}

describe('the result sanitizer', () => {
  it.each(XSS_CORPUS)('leaves nothing that runs or loads in %s', (payload) => {
    // Act
    const clean = sanitizeResultHtml(payload);

    // Assess
    for (const pattern of DANGEROUS) expect(clean).not.toMatch(pattern);
    for (const [, tag] of clean.matchAll(/<\/?([a-z0-9]+)/gi)) expect(tag!.toLowerCase()).toMatch(ALLOWED_TAG);
  });

  it('keeps the structure a result needs: sections, blocks with boxes, tables, lists', () => {
    // Prepare
    const html =
      '<section data-page="2"><div class="table" data-bbox="10 20 300 400"><table><tr><th colspan="2">H</th></tr><tr><td>a</td><td>b</td></tr></table></div><ul><li>x</li></ul><h2>T</h2></section>';

    // Act
    const clean = sanitizeResultHtml(html);

    // Assess
    expect(clean).toBe(html);
  });

  it('turns markup into readable text with entities decoded', () => {
    // Act
    const text = htmlToText('<p>Fish &amp; chips</p><p>&lt;b&gt; is not bold &#228;</p><script>x()</script>');

    // Assess
    expect(text).toBe('Fish & chips\n<b> is not bold ä');
  });
});

describe('document assembly', () => {
  it('writes one section per page, in page order, with boxes in page pixels', () => {
    // Prepare
    const pages = [
      page([{ kind: 'text', text: 'second page', bbox: [1.4, 2.6, 100, 50], confidence: 0.8 }], 2),
      page([{ kind: 'heading', text: 'First', bbox: [10, 10, 200, 60], confidence: 1 }], 1),
    ];

    // Act
    const doc = assembleDocument(pages);

    // Assess
    const sections = [...doc.html.matchAll(/<section data-page="(\d+)">/g)].map((m) => m[1]);
    expect(sections).toEqual(['1', '2']);
    expect(doc.html).toContain('<h2 class="heading" data-bbox="10 10 200 60">First</h2>');
    expect(doc.html).toContain('data-bbox="1 3 100 50"');
    expect(doc.text).toBe('First\n\nsecond page');
    expect(doc.json.pages.map((p) => [p.page, p.engine])).toEqual([
      [1, 'test'],
      [2, 'test'],
    ]);
  });

  it('escapes text that looks like markup and sanitizes model HTML', () => {
    // Prepare
    const pages = [
      page([
        { kind: 'text', text: '<script>alert(1)</script> & more', bbox: null, confidence: 0.9 },
        { kind: 'table', html: '<table><tr><td onclick="x()">cell</td></tr></table><img src=x onerror=alert(1)>', bbox: [0, 0, 5, 5], confidence: null },
      ]),
    ];

    // Act
    const doc = assembleDocument(pages);

    // Assess
    expect(doc.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
    expect(doc.html).not.toMatch(/<script|onclick|onerror|<img/);
    expect(doc.text).toContain('cell');
    expect(doc.json.pages[0]!.blocks[1]!.html).toBe('<table><tr><td>cell</td></tr></table>');
  });

  it('counts words with letters or digits and weights confidence by words', () => {
    // Prepare
    const pages = [
      page([{ kind: 'text', text: 'one two three — 4', bbox: null, confidence: 1 }], 1),
      { ...page([{ kind: 'text', text: 'five', bbox: null, confidence: 0.5 }], 2), confidence: 0.5 },
      { ...page([], 3), confidence: null },
    ];
    pages[0]!.confidence = 1;

    // Act
    const doc = assembleDocument(pages);

    // Assess
    expect(doc.wordCount).toBe(5);
    expect(countWords('  ')).toBe(0);
    expect(doc.confidence).toBeCloseTo((1 * 4 + 0.5 * 1) / 5);
    expect(doc.json.pages[2]!.blocks).toEqual([]);
  });
});
