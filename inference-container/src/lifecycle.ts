import type { Worker } from './worker';

/** The container's entrypoint gives the worker 95 s after SIGTERM (ECS stopTimeout 120 s, Spot's 2-minute notice): everything must be released well within it. */
export const SHUTDOWN_BUDGET_MS = 80_000;

/**
 * Runs the worker until SIGTERM or SIGINT, then stops it cleanly (no new jobs, pages in the engine
 * finish, leases released without using an attempt, messages visible again) and exits 0. A page
 * still in the engine when the drain time is up is aborted and its lease released regardless, so
 * `onStopped` (which closes the database) never runs while a claim is held.
 */
export function runUntilSignal(worker: Worker, options: { onStopped?: () => Promise<void>; exit?: (code: number) => void } = {}): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    const hardStop = setTimeout(() => exit(0), SHUTDOWN_BUDGET_MS + 5_000);
    worker
      .stop(SHUTDOWN_BUDGET_MS - 10_000)
      .then(() => options.onStopped?.())
      .then(
        () => {
          clearTimeout(hardStop);
          exit(0);
        },
        () => exit(1),
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  void worker.start();
}
