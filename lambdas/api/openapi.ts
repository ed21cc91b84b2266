import { Logger } from '@aws-lambda-powertools/logger';
import { apiConfigFromEnv } from '../../src/api/config';
import type { ApiDeps } from '../../src/api/deps';
import { openApiCore } from '../../src/api/openapi';
import type { RouteModule } from './define-handler';
import { toLambdaHandler } from './http-handler';

/**
 * The document needs only the configuration: this function gets no database, bucket or VPC
 * (so not buildAwsApiDeps, which would require the database settings).
 */
const standaloneDeps = (): Pick<ApiDeps, 'config' | 'logger'> => ({
  config: apiConfigFromEnv(process.env),
  logger: new Logger({ serviceName: 'untxt-api' }),
});

export const handler: RouteModule['handler'] = toLambdaHandler(openApiCore, standaloneDeps);
export const withDeps: RouteModule['withDeps'] = (makeDeps) => toLambdaHandler(openApiCore, makeDeps);
