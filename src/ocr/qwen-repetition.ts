/**
 * Finds the repetition loop Qwen3-VL falls into on some pages (QwenLM/Qwen3-VL#1611, #241): the
 * same row, line or phrase emitted again and again, usually until the token cap.
 *
 * The search runs on the answer with each tag collapsed to one marker character, so a loop of
 * blocks that differ only in their `data-bbox` is still found, and markup alone (a run of empty
 * table cells) is not. A loop is a unit of 1..`maxPeriod` characters holding a letter or digit,
 * repeated back to back at least `minRepeats` times over at least `minChars` characters.
 *
 * Real pages repeat too, and as long: a checklist of "☐ Yes ☐ No" rows, a sheet of
 * "Name: ____ Date: ____" lines, a table column of `0.00`. What tells a loop from such a page is
 * where it ends: a model caught in a loop never leaves it, so its loop runs to the end of the
 * answer; a form's repeated rows are followed by the rest of the form. `findLoopAtEnd` therefore
 * looks only for a loop nothing but closing markup follows.
 *
 * Some forms end in their rows, though: a blank sign-in sheet is rows and nothing after. Such an
 * answer still ends on its own (`finish_reason: stop`), where a loop nearly always runs to the
 * token cap (`length`). So an answer that stopped needs `minRepeatsWhenStopped` repeats to count
 * as a loop; see there.
 */

export interface RepetitionOptions {
  /** Longest repeating unit looked for, in characters (after collapsing tags). */
  maxPeriod: number;
  minRepeats: number;
  /** Characters the repeated run must cover. */
  minChars: number;
  /**
   * Repeats needed when the model ended the answer itself. 100: the densest pages that end in
   * identical rows (a sign-in sheet, a ledger of blank lines, a checklist) hold a few dozen rows,
   * 60 at most on a letter page at a readable row height, and the unit found is the whole row (a
   * row's boundary differs from its cells', so cells do not count separately). A loop that
   * stopped after 100 or more repeats is not a page; one that stopped sooner is kept, since a
   * wrong form is less likely than a real one, and the cap-bound loops are caught at `minRepeats`.
   */
  minRepeatsWhenStopped: number;
}

export const DEFAULT_REPETITION: RepetitionOptions = { maxPeriod: 400, minRepeats: 4, minChars: 600, minRepeatsWhenStopped: 100 };

export interface Repetition {
  /** Length of the repeating unit in the collapsed text. */
  period: number;
  repeats: number;
}

const TAG = /<[^<>]*>/g;
/** A tag the cap cut in half (`…</t`), at the very end. */
const CUT_TAG = /<[^<>]*$/;
const MARK = '\u0001';
const ALNUM = /[\p{L}\p{N}]/u;

/** The longest loop anywhere in `text`, or null. Cost: O(length × maxPeriod). */
export function findRepetition(text: string, options: RepetitionOptions = DEFAULT_REPETITION): Repetition | null {
  return longestLoop(collapse(text), options, -1);
}

/**
 * The longest loop that runs to the end of `text`, or null: no letter or digit follows it, only
 * closing tags, whitespace, punctuation or a fence's backticks; a tag the token cap cut in half is
 * ignored. With `stopped` (the model ended the answer itself) it takes `minRepeatsWhenStopped`.
 * The same test serves an answer the cap cut off: a page that needs more tokens than the cap and
 * holds a form's repeated rows somewhere is not looping, and is better retried with more tokens.
 */
export function findLoopAtEnd(text: string, options: RepetitionOptions = DEFAULT_REPETITION, stopped = false): Repetition | null {
  const s = collapse(text.replace(CUT_TAG, ''));
  let lastWord = s.length - 1;
  while (lastWord >= 0 && !ALNUM.test(s[lastWord]!)) lastWord -= 1;
  const loop = longestLoop(s, options, lastWord);
  return loop && stopped && loop.repeats < options.minRepeatsWhenStopped ? null : loop;
}

function collapse(text: string): string {
  return text.replace(TAG, MARK);
}

/**
 * The loop covering most characters among those whose run stops past index `after` (-1: any).
 * For each period only the runs that can stop there are scanned, back from the end: a loop at
 * the end of a long answer costs O(its length × maxPeriod), not the answer's.
 */
function longestLoop(s: string, options: RepetitionOptions, after: number): Repetition | null {
  const n = s.length;
  const codes = new Uint16Array(n);
  for (let i = 0; i < n; i += 1) codes[i] = s.charCodeAt(i);
  let best: Repetition | null = null;
  let bestCover = 0;
  for (let period = 1; period <= Math.min(options.maxPeriod, n >> 1); period += 1) {
    // `run` counts positions i where s[i] === s[i + period]: a run of r such positions is the
    // unit s[start, start + period) repeated (r + period) / period times. A run stopping at i
    // ends its loop at i + period, so the first stop that counts is `from`; the run reaching it
    // is counted backwards.
    const from = Math.max(0, after - period + 1);
    let run = 0;
    while (from - run > 0 && codes[from - run - 1] === codes[from - run - 1 + period]) run += 1;
    for (let i = from; i + period <= n; i += 1) {
      if (i + period < n && codes[i] === codes[i + period]) {
        run += 1;
        continue;
      }
      const cover = run + period;
      const repeats = Math.floor(cover / period);
      if (repeats >= options.minRepeats && cover >= options.minChars && cover > bestCover) {
        const start = i - run;
        if (ALNUM.test(s.slice(start, start + period))) {
          best = { period, repeats };
          bestCover = cover;
        }
      }
      run = 0;
    }
  }
  return best;
}
