import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeEventBus } from '../../src/adapters/aws/eventbridge-event-bus';
import { iamPoolConfig } from '../../src/adapters/aws/iam-pool-config';
import { createS3Client } from '../../src/adapters/aws/s3-client';
import { S3ObjectStore } from '../../src/adapters/aws/s3-object-store';
import { SqsJobQueue } from '../../src/adapters/aws/sqs-job-queue';
import { systemClock } from '../../src/adapters/clock';
import type { Database } from '../../src/db/database';
import { createPgDatabase } from '../../src/db/pg-database';
import type { Clock } from '../../src/ports/clock';
import { DEFAULT_INTAKE_LIMITS, type IntakeDeps } from '../../src/pipeline/intake';
import { once, positiveInt, required, type Env } from '../shared/env';

/**
 * What the pipeline Lambdas (intake, sweeper, DLQ consumer) share, from the environment:
 *
 * | variable | what |
 * | --- | --- |
 * | DB_HOST, DB_PORT, DB_NAME, DB_USER | Aurora endpoint and the `untxt_worker` login role (IAM auth) |
 * | DOCUMENTS_BUCKET | intake, sweeper |
 * | JOBS_QUEUE_URL | intake, sweeper |
 * | EVENT_BUS_NAME | all three |
 * | MAX_PAGES, MAX_IMAGE_PIXELS | intake limits (defaults 3000 and 150,000,000) |
 * | MAX_PAGES_PER_DAY | the API's daily page quota, re-checked by intake once pages are counted (default 10,000) |
 * | UPLOAD_URL_SECONDS | sweeper: life of an upload URL (default 300) |
 */
export interface PipelineRuntime {
  logger: Logger;
  clock: Clock;
  db: () => Database;
  objects: () => S3ObjectStore;
  jobs: () => SqsJobQueue;
  events: () => EventBridgeEventBus;
}

export function pipelineRuntime(serviceName: string, env: Env = process.env): PipelineRuntime {
  return {
    logger: new Logger({ serviceName }),
    clock: systemClock,
    db: once(() => createPgDatabase(iamPoolConfig(env, { applicationName: serviceName, max: 1 }))),
    objects: once(() => new S3ObjectStore({ client: createS3Client(), bucket: required(env, 'DOCUMENTS_BUCKET') })),
    jobs: once(() => new SqsJobQueue({ client: new SQSClient({}), queueUrl: required(env, 'JOBS_QUEUE_URL') })),
    events: once(() => new EventBridgeEventBus({ client: new EventBridgeClient({}), eventBusName: required(env, 'EVENT_BUS_NAME') })),
  };
}

// Re-exported: the sweeper and the GPU worker read their settings with it from here.
export { positiveInt };

export interface PipelinePorts {
  db: Database;
  objects: S3ObjectStore;
  jobs: SqsJobQueue;
  events: EventBridgeEventBus;
  clock: Clock;
  logger: Logger;
}

/** The runtime's ports, opened: what intake and the GPU worker both take. */
export function pipelinePorts(runtime: PipelineRuntime): PipelinePorts {
  return {
    db: runtime.db(),
    objects: runtime.objects(),
    jobs: runtime.jobs(),
    events: runtime.events(),
    clock: runtime.clock,
    logger: runtime.logger,
  };
}

/** Intake's dependencies (also used by the sweeper, which runs intake on uploads it finds). */
export function intakeDepsFrom(runtime: PipelineRuntime, env: Env = process.env): IntakeDeps {
  return {
    ...pipelinePorts(runtime),
    limits: {
      maxPages: positiveInt(env, 'MAX_PAGES', DEFAULT_INTAKE_LIMITS.maxPages),
      maxImagePixels: positiveInt(env, 'MAX_IMAGE_PIXELS', DEFAULT_INTAKE_LIMITS.maxImagePixels),
      maxPagesPerDay: positiveInt(env, 'MAX_PAGES_PER_DAY', DEFAULT_INTAKE_LIMITS.maxPagesPerDay),
    },
  };
}
