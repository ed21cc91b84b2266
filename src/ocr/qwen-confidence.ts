/**
 * Confidence from the model's token log-probabilities.
 *
 * A block's confidence is the geometric mean of the probabilities of the tokens that wrote it,
 * exp(mean logprob), so that it does not shrink with the block's length; the page's is the same
 * over the tokens of all its blocks (the fence and prose around them do not count). Tokens are
 * placed in the answer by their UTF-8 `bytes` (vLLM sends them; a token may be part of a
 * character), else by their text; when neither adds up to the answer, each block gets the page's
 * confidence over all tokens. No log-probabilities: no measure (null).
 */

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes?: number[] | null;
}

/**
 * vLLM sends -9999 for a token of probability 0 (JSON has no -Infinity); one such token would
 * make the whole page read as 0. Floor each at e^-20.
 */
const LOGPROB_FLOOR = -20;

export function answerConfidence(
  answer: string,
  tokens: readonly TokenLogprob[] | null | undefined,
  spans: ReadonlyArray<readonly [number, number]>,
): { page: number | null; blocks: Array<number | null> } {
  if (!tokens || tokens.length === 0) return { page: null, blocks: spans.map(() => null) };
  const logprobs = tokens.map((t) => Math.max(LOGPROB_FLOOR, Number.isFinite(t.logprob) ? t.logprob : LOGPROB_FLOOR));
  const placed = placeTokens(answer, tokens);
  if (!placed) {
    const page = geometricMean(logprobs);
    return { page, blocks: spans.map(() => page) };
  }
  const inBlocks = new Set<number>();
  const blocks = spans.map(([from, to]) => {
    const [start, end] = [placed.offset(from), placed.offset(to)];
    const mine: number[] = [];
    placed.starts.forEach((s, i) => {
      if (s < end && placed.ends[i]! > start) {
        mine.push(logprobs[i]!);
        inBlocks.add(i);
      }
    });
    return mine.length > 0 ? geometricMean(mine) : null;
  });
  const page = geometricMean(inBlocks.size > 0 ? [...inBlocks].map((i) => logprobs[i]!) : logprobs);
  return { page, blocks: blocks.map((b) => b ?? page) };
}

/** Each token's `[start, end)` in one unit (UTF-8 bytes or UTF-16 units), and a converter from UTF-16 offsets. */
function placeTokens(
  answer: string,
  tokens: readonly TokenLogprob[],
): { starts: number[]; ends: number[]; offset: (utf16: number) => number } | null {
  const byBytes = tokens.every((t) => Array.isArray(t.bytes));
  const lengths = tokens.map((t) => (byBytes ? t.bytes!.length : t.token.length));
  const total = lengths.reduce((a, b) => a + b, 0);
  const expected = byBytes ? Buffer.byteLength(answer, 'utf8') : answer.length;
  if (total !== expected) return null;
  const starts: number[] = [];
  const ends: number[] = [];
  let at = 0;
  for (const length of lengths) {
    starts.push(at);
    ends.push((at += length));
  }
  const offset = byBytes ? (utf16: number): number => Buffer.byteLength(answer.slice(0, utf16), 'utf8') : (utf16: number): number => utf16;
  return { starts, ends, offset };
}

const geometricMean = (logprobs: readonly number[]): number => Math.exp(logprobs.reduce((a, b) => a + b, 0) / logprobs.length);
