import { parseQwenHtml } from '../../src/ocr/qwen-html';
import { answerConfidence } from '../../src/ocr/qwen-confidence';
import { findLoopAtEnd, findRepetition } from '../../src/ocr/qwen-repetition';
import { CHECKLIST_FORM, LOOP, SIGN_IN_SHEET, ZERO_ROWS_TABLE } from './support/qwen-answers';
import { tokens } from './support/openai-stub-server';

const PAGE = { width: 2000, height: 1000 };

describe('reading a Qwen3-VL HTML answer', () => {
  it('scales 0–1000 boxes to page pixels and clamps negative and overshooting values to the page', () => {
    // Act
    const { blocks, outcome } = parseQwenHtml('<div class="text" data-bbox="-1 -2 1001 500">Edge to edge</div>', PAGE);

    // Assess
    expect(outcome).toBe('blocks');
    expect(blocks[0]!.bbox).toEqual([0, 0, 2000, 500]);
  });

  it.each([
    ['a data-polygon of four corners', '<div class="text" data-polygon="[[100,200],[300,200],[300,400],[100,400]]">x</div>'],
    ['a polygon in data-bbox', '<div class="text" data-bbox="[[100, 200], [300, 210], [290, 400], [100, 390]]">x</div>'],
    ['a bracketed, comma-separated box', '<div class="text" data-bbox="[100, 200, 300, 400]">x</div>'],
    ['corners given in reverse', '<div class="text" data-bbox="300 400 100 200">x</div>'],
  ])('takes the enclosing box of %s', (_name, html) => {
    // Act
    const { blocks } = parseQwenHtml(html, PAGE);

    // Assess
    expect(blocks[0]!.bbox).toEqual([200, 200, 600, 400]);
  });

  it('keeps a block whose box is unusable, without a box', () => {
    // Act
    const { blocks } = parseQwenHtml('<p data-bbox="1 2 3">Three numbers</p><p data-bbox="1200 10 1300 20">Off the page</p>', PAGE);

    // Assess
    expect(blocks.map((b) => b.bbox)).toEqual([null, null]);
  });

  it('names block kinds from Qwen3-VL classes and from tags', () => {
    // Prepare
    const answer = [
      '<html><body>',
      '<div class="title" data-bbox="0 0 1 1">T</div>',
      '<h2>Section</h2>',
      '<div class="image" data-bbox="0 0 500 500"><img data-bbox="0 0 500 500"></div>',
      '<div class="image_caption">Figure 1</div>',
      '<div class="formula">$$E = mc^2$$</div>',
      '<ul><li>one</li></ul>',
      '<table><tr><td>1</td></tr></table>',
      '<div class="page_footer">Page 1</div>',
      '</body></html>',
    ].join('');

    // Act
    const { blocks } = parseQwenHtml(answer, PAGE);

    // Assess
    expect(blocks.map((b) => b.kind)).toEqual(['heading', 'heading', 'image', 'caption', 'formula', 'list', 'table', 'text']);
  });

  it('keeps the meaningful outer tag of headings, tables and lists, drops the wrapper div, and removes every relative box from the markup', () => {
    // Act
    const { blocks } = parseQwenHtml('<h1 data-bbox="1 1 9 9">A</h1><div class="table" data-bbox="1 1 9 9"><table data-bbox="1 1 9 9"><tr><td>1</td></tr></table></div>', PAGE);

    // Assess
    expect(blocks.map((b) => b.html)).toEqual(['<h1>A</h1>', '<table><tr><td>1</td></tr></table>']);
  });

  it('unwraps a box-less wrapper around boxed blocks', () => {
    // Act
    const { blocks } = parseQwenHtml('<html><body><div class="page"><p data-bbox="0 0 500 100">One</p><p data-bbox="0 100 500 200">Two</p></div></body></html>', PAGE);

    // Assess
    expect(blocks.map((b) => b.html)).toEqual(['One', 'Two']);
  });

  it('reads text lying directly in the body as a block of its own', () => {
    // Act
    const { blocks } = parseQwenHtml('<html><body>Just words<p>and a paragraph</p> then more words</body></html>', PAGE);

    // Assess
    expect(blocks.map((b) => [b.kind, b.html])).toEqual([
      ['text', 'Just words'],
      ['text', 'and a paragraph'],
      ['text', 'then more words'],
    ]);
  });

  it('keeps text between blocks of an answer without html or body tags', () => {
    // Act
    const { blocks } = parseQwenHtml('<h1>Title</h1>\nLoose words\n<p>A paragraph</p>', PAGE);

    // Assess
    expect(blocks.map((b) => b.html)).toEqual(['<h1>Title</h1>', 'Loose words', 'A paragraph']);
  });

  it('closes elements left open at the end of a cut answer', () => {
    // Act
    const { blocks, outcome } = parseQwenHtml('<html><body><div class="text" data-bbox="0 0 500 100">Complete</div><div class="text">Half a sente', PAGE);

    // Assess
    expect(outcome).toBe('blocks');
    expect(blocks.map((b) => b.html)).toEqual(['Complete', 'Half a sente']);
  });

  it('does not read markup inside a script as blocks', () => {
    // Act
    const { blocks } = parseQwenHtml('<script>x = "</script-not><div>fake</div>";</script><p>Real</p>', PAGE);

    // Assess
    expect(blocks.map((b) => b.html)).toEqual(['Real']);
  });

  it.each([
    ['an empty answer', 'blank', ''],
    ['whitespace', 'blank', ' \n '],
    ['an empty document with a doctype and a head', 'blank', '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Scan</title></head><body>\n</body></html>'],
    ['an empty fence', 'blank', '```html\n\n```'],
    ['prose without markup', 'malformed', 'The page is empty.'],
    ['a tag cut in the middle', 'malformed', '<html><body><div class="text" data-bbox="1 2'],
    ['markup without any text', 'malformed', '<table><tr><td></td></tr></table>'],
  ])('classifies %s as %s', (_name, outcome, answer) => {
    // Act
    const parsed = parseQwenHtml(answer, PAGE);

    // Assess
    expect(parsed.outcome).toBe(outcome);
    expect(parsed.blocks).toEqual([]);
  });
});

describe('finding a repetition loop', () => {
  it('finds a table row repeated until the token cap', () => {
    // Act
    const loop = findRepetition(`<table>${'<tr><td>Total</td><td>12.00</td></tr>'.repeat(60)}`);

    // Assess
    expect(loop).not.toBeNull();
    expect(loop!.repeats).toBeGreaterThanOrEqual(50);
  });

  it('finds blocks repeated with different boxes, and a sentence repeated in prose', () => {
    // Prepare
    const blocks = Array.from({ length: 40 }, (_, i) => `<div class="text" data-bbox="10 ${i * 20} 990 ${i * 20 + 15}">The same line again.</div>`).join('');

    // Act / Assess
    expect(findRepetition(blocks)).not.toBeNull();
    expect(findRepetition(`<p>${'and then the patient said that '.repeat(30)}</p>`)).not.toBeNull();
  });

  it('does not flag an ordinary page, dot leaders, a run of empty table cells or a short repeated row', () => {
    // Prepare
    const page = Array.from({ length: 40 }, (_, i) => `<p data-bbox="1 ${i} 2 ${i + 1}">Line ${i + 1}: item ${i * 7} costs ${(i * 3.5).toFixed(2)} EUR.</p>`).join('');
    const leaders = `<p>Contents${'.'.repeat(300)}1</p><p>Intro${'.'.repeat(300)}2</p>`;
    const cells = `<table><tr>${'<td></td>'.repeat(200)}</tr></table>`;
    const rows = `<table>${'<tr><td>0.00</td><td>0.00</td></tr>'.repeat(10)}</table>`;

    // Act / Assess
    for (const text of [page, leaders, cells, rows]) expect(findRepetition(text)).toBeNull();
  });

  it.each([
    ['a 40-row "☐ Yes ☐ No" checklist', CHECKLIST_FORM],
    ['16 "Name: ____ Date: ____" lines', SIGN_IN_SHEET],
    ['30 table rows of 0.00', ZERO_ROWS_TABLE],
  ])('finds %s repeated, but no loop at the end, since the rest of the form follows', (_name, form) => {
    // Act / Assess
    expect(findRepetition(form)).not.toBeNull();
    expect(findLoopAtEnd(form)).toBeNull();
  });

  it.each([
    ['stops inside the loop', LOOP],
    ['stops inside a tag of the loop', `${LOOP}<tr><td>Total</td><td>12.00</t`],
    ['is followed only by closing tags', `${LOOP}</table></div></body></html>`],
    ['is fenced and closed', `\`\`\`html\n${LOOP}</table></div></body></html>\n\`\`\``],
  ])('finds a loop at the end of an answer that %s', (_name, answer) => {
    // Act
    const loop = findLoopAtEnd(answer);

    // Assess
    expect(loop?.repeats).toBeGreaterThanOrEqual(120);
  });

  it('finds a loop at the end after a form whose own rows repeat', () => {
    // Prepare
    const answer = CHECKLIST_FORM.replace('</body></html>', LOOP);

    // Act / Assess
    expect(findLoopAtEnd(answer)).toMatchObject({ repeats: 120 });
  });
});

describe('confidence from token log-probabilities', () => {
  it('gives each block the geometric mean of its own tokens, and the page that of all block tokens', () => {
    // Prepare: tokens of the first block are less sure than those of the second.
    const answer = '```html\n<p>Ünïcödé text</p><p>sure</p>\n```';
    const parsed = parseQwenHtml(answer, PAGE);
    const split = tokens(answer);
    const firstEnd = answer.indexOf('<p>sure');
    let at = 0;
    const logprobs = split.map((token) => {
      const start = at;
      at += token.length;
      return { token, bytes: [...Buffer.from(token)], logprob: start < firstEnd ? Math.log(0.5) : Math.log(0.99) };
    });

    // Act
    const confidence = answerConfidence(answer, logprobs, parsed.blocks.map((b) => b.span));

    // Assess
    expect(confidence.blocks[0]!).toBeLessThan(0.6);
    expect(confidence.blocks[1]!).toBeGreaterThan(0.9);
    expect(confidence.page!).toBeGreaterThan(confidence.blocks[0]!);
    expect(confidence.page!).toBeLessThan(confidence.blocks[1]!);
  });

  it('falls back to the page confidence for every block when the tokens do not add up to the answer', () => {
    // Act
    const confidence = answerConfidence('<p>a</p><p>b</p>', [{ token: 'x', logprob: Math.log(0.8) }], [
      [0, 8],
      [8, 16],
    ]);

    // Assess
    expect(confidence.page).toBeCloseTo(0.8, 6);
    expect(confidence.blocks).toEqual([confidence.page, confidence.page]);
  });

  it('does not let one impossible token (-9999) wipe out the page', () => {
    // Act
    const confidence = answerConfidence('abcd', [
      { token: 'ab', logprob: 0 },
      { token: 'cd', logprob: -9999 },
    ], [[0, 4]]);

    // Assess
    expect(confidence.page!).toBeGreaterThan(1e-5);
  });
});
