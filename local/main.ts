import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { startLocalService } from './service';

/**
 * `npm start`: local mode on one machine. Ctrl-C (or SIGTERM) stops cleanly and exits 0; a
 * second Ctrl-C exits at once, for when a shutdown step hangs.
 */
async function main(): Promise<void> {
  const logger = createLogger();
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  const service = await startLocalService(config, { logger });
  process.stdout.write(
    [
      '',
      'untxt is running locally',
      `  API           ${service.apiUrl}`,
      `  Health        ${service.healthUrl}`,
      `  Object store  ${service.objectStoreUrl}`,
      `  Data          ${config.dataDir} (${service.database.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL server'})`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`Received ${signal} again: exiting without waiting.\n`);
      process.exit(1);
    }
    stopping = true;
    logger.info('Stopping', { signal });
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('Stopping failed', { error: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  // The message only: a stack or error object may carry connection strings.
  process.stderr.write(`untxt failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
