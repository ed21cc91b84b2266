import { decideDesiredCount, type ScalerObservation, type ScalerSettings } from '../../src/scaling/scaler';

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
const SETTINGS: ScalerSettings = { maxTasks: 3, jobsPerTask: 8, idleMs: 15 * MINUTE };

const observe = (o: Partial<ScalerObservation>): ScalerObservation => ({
  visible: 0,
  inFlight: 0,
  desired: 0,
  running: 0,
  lastNonEmptyAt: undefined,
  now: NOW,
  ...o,
});

describe('the scaler decision', () => {
  it.each([
    ['one visible job at zero starts one task', { visible: 1 }, 1, 'backlog', true],
    ['one in-flight job at zero starts one task', { inFlight: 1 }, 1, 'backlog', true],
    ['eight jobs fit in one task', { visible: 5, inFlight: 3, desired: 1, running: 1 }, 1, 'backlog', false],
    ['nine jobs ask for a second task', { visible: 9, desired: 1, running: 1 }, 2, 'backlog', true],
    ['a large backlog is capped at the maximum', { visible: 1000 }, 3, 'backlog', true],
    ['a shrinking backlog keeps the tasks already asked for', { inFlight: 2, desired: 3, running: 3 }, 3, 'backlog', false],
    ['a desired count above a lowered maximum comes down to it', { visible: 1, desired: 5, running: 5 }, 3, 'above-max', true],
    ['an empty queue at zero stays at zero', {}, 0, 'at-zero', false],
    ['an empty queue for 14 minutes keeps the task', { desired: 1, running: 1, lastNonEmptyAt: NOW - 14 * MINUTE }, 1, 'idle-waiting', false],
    ['an empty queue for 15 minutes scales to zero', { desired: 1, running: 1, lastNonEmptyAt: NOW - 15 * MINUTE }, 0, 'idle-expired', true],
    ['an empty queue with tasks and no record starts the idle clock', { desired: 2, running: 2 }, 2, 'idle-waiting', false],
    ['an empty queue above a lowered maximum comes down to it', { desired: 5, running: 5, lastNonEmptyAt: NOW - MINUTE }, 3, 'above-max', true],
  ] as const)('%s', (_name, partial, desired, reason, changed) => {
    // Prepare
    const observation = observe(partial);

    // Act
    const decision = decideDesiredCount(observation, SETTINGS);

    // Assess
    expect(decision).toMatchObject({ desired, reason, changed });
  });

  it('records now as the last non-empty time whenever there is a backlog', () => {
    // Act
    const decision = decideDesiredCount(observe({ inFlight: 1, desired: 1, lastNonEmptyAt: NOW - 10 * MINUTE }), SETTINGS);

    // Assess
    expect(decision.lastNonEmptyAt).toBe(NOW);
  });

  it('keeps the recorded time while idle, so the idle period is not restarted', () => {
    // Prepare
    const since = NOW - 5 * MINUTE;

    // Act
    const decision = decideDesiredCount(observe({ desired: 1, lastNonEmptyAt: since }), SETTINGS);

    // Assess
    expect(decision.lastNonEmptyAt).toBe(since);
  });

  it('counts the idle period from the first run that found tasks and no record', () => {
    // Act
    const first = decideDesiredCount(observe({ desired: 1 }), SETTINGS);
    const later = decideDesiredCount(observe({ desired: 1, lastNonEmptyAt: first.lastNonEmptyAt, now: NOW + 15 * MINUTE }), SETTINGS);

    // Assess
    expect(first.lastNonEmptyAt).toBe(NOW);
    expect(later).toMatchObject({ desired: 0, reason: 'idle-expired' });
  });

  it('never asks for more than the maximum or fewer than zero', () => {
    // Prepare
    const cases = [0, 1, 7, 8, 9, 23, 24, 25, 10_000].flatMap((backlog) => [0, 1, 2, 3, 4].map((desired) => ({ backlog, desired })));

    // Act
    const decisions = cases.map(({ backlog, desired }) => decideDesiredCount(observe({ visible: backlog, desired }), SETTINGS).desired);

    // Assess
    for (const desired of decisions) {
      expect(desired).toBeGreaterThanOrEqual(0);
      expect(desired).toBeLessThanOrEqual(SETTINGS.maxTasks);
    }
  });
});
