/** What the pool tests and the vLLM bench read from the stub server's in-flight counts. */

export interface InFlightMeasure {
  /** Most requests the server held at once. */
  peak: number;
  /** Mean in-flight count sampled at each arrival (itself included), the ramp-up from zero (the first `pool`) left out. */
  meanAtArrival: number;
  /**
   * Mean over requests sent while work remained (all but the last `pool`, which find fewer pages
   * left to keep them company) of the most requests in flight during each one's life.
   */
  meanDuring: number;
}

export function measureInFlight(stub: { inFlightAtArrival: readonly number[]; inFlightDuring: readonly number[] }, pool: number): InFlightMeasure {
  const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  return {
    peak: Math.max(0, ...stub.inFlightAtArrival),
    meanAtArrival: mean(stub.inFlightAtArrival.slice(pool)),
    meanDuring: mean(stub.inFlightDuring.slice(0, Math.max(1, stub.inFlightDuring.length - pool))),
  };
}

/** Pages of real text (a PDF text layer), enough ink for the blank check at low resolution. */
export function pagesOfText(pages: number): string[][] {
  return Array.from({ length: pages }, (_, p) => Array.from({ length: 12 }, (_, l) => `Page ${p + 1}, line ${l + 1}: the quick brown fox jumps over the lazy dog.`));
}
