import type { Logger } from '@aws-lambda-powertools/logger';
import { errorSummary } from '../src/adapters/error-summary';

/** The part of `process` the lifecycle uses; tests pass a stand-in. */
export interface SignalSource {
  on(signal: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Starts a service with Ctrl-C (SIGINT) and SIGTERM handled from the first moment: the handlers
 * are installed BEFORE start-up begins, so a Ctrl-C during start-up (migrations, opening PGlite)
 * does not kill the process half-way (Node's default) but waits for start-up to finish, then
 * stops cleanly and exits 0. A second signal exits at once, for when a step hangs.
 * Resolves with the service, or null when a stop was requested before start-up finished.
 */
export async function startWithSignalHandling<S extends Stoppable>(input: {
  start: () => Promise<S>;
  signals: SignalSource;
  exit: (code: number) => void;
  logger: Pick<Logger, 'info' | 'error'>;
  /** Where the "again: exiting without waiting" line goes. */
  write: (line: string) => void;
}): Promise<S | null> {
  let stopping = false;
  let settle: (service: S | null) => void = () => undefined;
  // Settles with the service once start-up ends (null when it failed; the caller reports that).
  const started = new Promise<S | null>((resolve) => (settle = resolve));
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      input.write(`Received ${signal} again: exiting without waiting.\n`);
      input.exit(1);
      return;
    }
    stopping = true;
    input.logger.info('Stopping', { signal });
    void started
      .then(async (service) => {
        await service?.stop();
        input.exit(0);
      })
      .catch((error: unknown) => {
        input.logger.error('Stopping failed', { error: errorSummary(error) });
        input.exit(1);
      });
  };
  input.signals.on('SIGINT', shutdown);
  input.signals.on('SIGTERM', shutdown);
  try {
    const service = await input.start();
    settle(service);
    return stopping ? null : service;
  } catch (error) {
    settle(null);
    throw error;
  }
}
