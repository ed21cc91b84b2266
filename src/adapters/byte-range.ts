import type { ByteRange } from '../ports/object-store';

/** Refuses ranges no HTTP client could mean; whether the range fits the object is the store's call. */
export function assertValidRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError('range.start must be a non-negative integer');
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new RangeError('range.end must be an integer not below range.start');
  }
}
