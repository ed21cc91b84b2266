import type { Clock } from '../ports/clock';

export const systemClock: Clock = { now: () => new Date() };

/** A clock that only moves when told to, for tests of expiry and visibility. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date = new Date('2026-01-01T00:00:00Z')) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(milliseconds: number): void {
    this.current += milliseconds;
  }
}
