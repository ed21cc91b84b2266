import { Logger } from '@aws-lambda-powertools/logger';

type LogLevel = NonNullable<ConstructorParameters<typeof Logger>[0]>['logLevel'];

/**
 * Structured JSON logs, as in Lambda. The level comes from POWERTOOLS_LOG_LEVEL unless given.
 * What is logged is ids, states, sizes and error kinds: never object keys, credentials or bodies.
 */
export function createLogger(logLevel?: LogLevel): Logger {
  return new Logger({ serviceName: 'untxt-local', ...(logLevel ? { logLevel } : {}) });
}
