import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { scaleFleet, scaleFleetConfigFromEnv, type ScaleFleetResult } from './scale-fleet';

const logger = new Logger({ serviceName: 'untxt-scaler' });
const config = scaleFleetConfigFromEnv(process.env);
const deps = { sqs: new SQSClient({}), ecs: new ECSClient({}), dynamodb: new DynamoDBClient({}), now: Date.now };

/**
 * Invoked every minute by a schedule and by `queued` task events on the bus; what woke it does
 * not matter, each run reads the current state. A thrown error fails the run; the next one
 * (a minute later at most) tries again.
 */
export async function handler(event: { source?: unknown }): Promise<ScaleFleetResult> {
  const result = await scaleFleet(config.target, config.settings, deps);
  // Counts and states only: nothing here identifies a user or a document.
  logger.info('GPU fleet scaled', { trigger: typeof event.source === 'string' ? event.source : 'unknown', ...result });
  return result;
}
