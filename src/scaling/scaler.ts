/**
 * The GPU fleet's desired count (DESIGN "Scaling to and from zero"), as a pure function of what
 * the scaler observes. The backlog is visible plus in-flight messages of the jobs queue: visible
 * alone drops to zero as soon as workers have received every job, while they are still working.
 *
 * - Work waiting: enough tasks for the backlog (one per `jobsPerTask` jobs, so one job from zero
 *   starts one task), never above `maxTasks`, and never fewer than already asked for: jobs are
 *   spread over the running tasks, which hold scale-in protection while they work, so a partial
 *   scale-in would stop nothing and only churn.
 * - No work: keep the fleet until the backlog has been empty for `idleMs`, then zero. A GPU task
 *   takes minutes to start (instance, image, weights), so a short lull must not stop it.
 */
export interface ScalerObservation {
  /** ApproximateNumberOfMessages of the jobs queue. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible: jobs received by a worker and not yet deleted. */
  readonly inFlight: number;
  /** The service's desired count now. */
  readonly desired: number;
  /** Tasks running now (for the decision's record; the decision follows `desired`). */
  readonly running: number;
  /** Epoch ms when the backlog was last seen non-empty; undefined when never recorded. */
  readonly lastNonEmptyAt: number | undefined;
  /** Epoch ms. */
  readonly now: number;
}

export interface ScalerSettings {
  readonly maxTasks: number;
  /** Jobs one worker task takes at once (its MAX_JOBS); more backlog than that asks for another task. */
  readonly jobsPerTask: number;
  /** How long the backlog must stay empty before the fleet goes to zero. */
  readonly idleMs: number;
}

export type ScalerReason = 'backlog' | 'idle-waiting' | 'idle-expired' | 'at-zero' | 'above-max';

export interface ScalerDecision {
  readonly desired: number;
  /** What to store as the last non-empty time (undefined: nothing to store). */
  readonly lastNonEmptyAt: number | undefined;
  /** Whether the service's desired count must be updated. */
  readonly changed: boolean;
  readonly reason: ScalerReason;
}

export function decideDesiredCount(o: ScalerObservation, s: ScalerSettings): ScalerDecision {
  const current = Math.max(0, o.desired);
  const decide = (desired: number, lastNonEmptyAt: number | undefined, reason: ScalerReason): ScalerDecision => ({
    desired,
    lastNonEmptyAt,
    changed: desired !== current,
    reason,
  });
  const backlog = Math.max(0, o.visible) + Math.max(0, o.inFlight);
  if (backlog > 0) {
    const needed = Math.min(s.maxTasks, Math.ceil(backlog / Math.max(1, s.jobsPerTask)));
    const desired = Math.min(s.maxTasks, Math.max(current, needed));
    return decide(desired, o.now, desired < current ? 'above-max' : 'backlog');
  }
  if (current === 0) return decide(0, o.lastNonEmptyAt, 'at-zero');
  // Tasks run with no record of work (first run, or the record was lost): start the idle clock now
  // rather than stopping at once, since they may have just been started for a job.
  const since = o.lastNonEmptyAt ?? o.now;
  if (o.now - since >= s.idleMs) return decide(0, since, 'idle-expired');
  const desired = Math.min(current, s.maxTasks);
  return decide(desired, since, desired < current ? 'above-max' : 'idle-waiting');
}
