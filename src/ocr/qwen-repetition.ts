/**
 * Finds the repetition loop Qwen3-VL falls into on some pages (QwenLM/Qwen3-VL#1611, #241): the
 * same row, line or phrase emitted again and again, usually until the token cap.
 *
 * The search runs on the answer with each tag collapsed to one marker character, so a loop of
 * blocks that differ only in their `data-bbox` is still found, and markup alone (a run of empty
 * table cells) is not. A loop is a unit of 1..`maxPeriod` characters holding a letter or digit,
 * repeated back to back at least `minRepeats` times over at least `minChars` characters. Real pages
 * repeat too (dot leaders, a column of equal values), but rarely that long without a break.
 */

export interface RepetitionOptions {
  /** Longest repeating unit looked for, in characters (after collapsing tags). */
  maxPeriod: number;
  minRepeats: number;
  /** Characters the repeated run must cover. */
  minChars: number;
}

export const DEFAULT_REPETITION: RepetitionOptions = { maxPeriod: 400, minRepeats: 4, minChars: 600 };

export interface Repetition {
  /** Length of the repeating unit in the collapsed text. */
  period: number;
  repeats: number;
}

const TAG = /<[^<>]*>/g;
const MARK = '\u0001';
const ALNUM = /[\p{L}\p{N}]/u;

/** The longest loop found in `text`, or null. Cost: O(length × maxPeriod). */
export function findRepetition(text: string, options: RepetitionOptions = DEFAULT_REPETITION): Repetition | null {
  const s = text.replace(TAG, MARK);
  const n = s.length;
  const codes = new Uint16Array(n);
  for (let i = 0; i < n; i += 1) codes[i] = s.charCodeAt(i);
  let best: Repetition | null = null;
  let bestCover = 0;
  for (let period = 1; period <= Math.min(options.maxPeriod, n >> 1); period += 1) {
    // `run` counts positions i where s[i] === s[i + period]: a run of r such positions is the
    // unit s[start, start + period) repeated (r + period) / period times.
    let run = 0;
    for (let i = 0; i + period <= n; i += 1) {
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
