/**
 * Qwen3-VL answers for pages that repeat themselves: real forms whose rows are the same again and
 * again (each followed by the rest of the form), and the model's loop, which the answer never leaves.
 */

/** A 40-row checklist of "☐ Yes ☐ No", then the signature line. */
export const CHECKLIST_FORM = [
  '<html><body>',
  '<h2 data-bbox="80 40 920 70">Pre-operative checklist</h2>',
  '<div class="table" data-bbox="80 90 920 860"><table>',
  ...Array.from({ length: 40 }, () => '<tr><td>☐ Yes</td><td>☐ No</td></tr>'),
  '</table></div>',
  '<div class="text" data-bbox="80 880 920 910">Signature of the nurse: __________ Date: __________</div>',
  '</body></html>',
].join('\n');

/** 16 blank "Name: ____ Date: ____" lines, then an instruction. */
export const SIGN_IN_SHEET = [
  '<html><body>',
  '<h2 data-bbox="80 40 920 70">Visitor log</h2>',
  ...Array.from({ length: 16 }, (_, i) => `<div class="text" data-bbox="80 ${100 + i * 45} 920 ${130 + i * 45}">Name: ______________________ Date: __________</div>`),
  '<div class="text" data-bbox="80 900 920 930">Please return this sheet to the front desk.</div>',
  '</body></html>',
].join('\n');

/** A table with 30 rows of `0.00`, then the totals. */
export const ZERO_ROWS_TABLE = [
  '<html><body>',
  '<div class="table" data-bbox="80 60 920 900"><table>',
  '<tr><th>Q1</th><th>Q2</th><th>Q3</th></tr>',
  ...Array.from({ length: 30 }, () => '<tr><td>0.00</td><td>0.00</td><td>0.00</td></tr>'),
  '<tr><td>1,250.00</td><td>980.00</td><td>2,230.00</td></tr>',
  '</table></div>',
  '</body></html>',
].join('\n');

/** A table row repeated until the token cap: the answer stops inside the loop. */
export const LOOP = `<html><body><div class="table" data-bbox="10 10 990 990"><table>${'<tr><td>Total</td><td>12.00</td></tr>'.repeat(120)}`;

/** A blank sign-in sheet: 40 identical rows, and nothing after them; the model ends the answer itself. */
export const SIGN_IN_SHEET_ENDING_IN_ROWS = [
  '<html><body>',
  '<h2 data-bbox="80 40 920 70">Visitor log</h2>',
  ...Array.from({ length: 40 }, (_, i) => `<div class="text" data-bbox="80 ${90 + i * 22} 920 ${108 + i * 22}">Name: ______________________ Date: __________</div>`),
  '</body></html>',
].join('\n');

/** A loop of 150 rows that the model ended itself, closing its markup. */
export const LOOP_THAT_STOPS = `<html><body><div class="table" data-bbox="10 10 990 990"><table>${'<tr><td>Total</td><td>12.00</td></tr>'.repeat(150)}</table></div></body></html>`;
