import { firstAdminNotice } from './api';
import { ConfigError, loadConfig } from './config';
import { startWithSignalHandling } from './lifecycle';
import { createLogger } from './logger';
import { startLocalService } from './service';

/**
 * `npm start`: local mode on one machine. Ctrl-C (or SIGTERM) stops cleanly and exits 0, also
 * during start-up; a second Ctrl-C exits at once, for when a shutdown step hangs.
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

  const service = await startWithSignalHandling({
    start: () => startLocalService(config, { logger, pipeline: true }),
    signals: process,
    exit: (code) => process.exit(code),
    logger,
    write: (line) => process.stderr.write(line),
  });
  if (!service) return; // Ctrl-C during start-up: stopping
  process.stdout.write(
    [
      '',
      'untxt is running locally',
      `  Web page      ${service.webUrl}`,
      `  API           ${service.apiUrl}`,
      `  Health        ${service.healthUrl}`,
      `  Object store  ${service.objectStoreUrl}`,
      `  Data          ${config.dataDir} (${service.database.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL server'})`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  // Straight to the terminal, never through the logger: log pipelines keep what they are given.
  if (service.api.firstAdmin) process.stdout.write(firstAdminNotice(service.api.firstAdmin));
}

main().catch((error: unknown) => {
  // The message only: a stack or error object may carry connection strings.
  process.stderr.write(`untxt failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
