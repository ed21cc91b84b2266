import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { decideDesiredCount, type ScalerDecision, type ScalerSettings } from '../../src/scaling/scaler';
import { positiveInt, required, type Env } from '../shared/env';

/** The one item of the state table: the partition key value, and how long an unrefreshed item lives. */
export const STATE_ITEM_ID = 'gpu-fleet';
const STATE_TTL_SECONDS = 7 * 24 * 3600;

export interface ScaleFleetTarget {
  readonly queueUrl: string;
  readonly cluster: string;
  readonly service: string;
  readonly stateTable: string;
}

export interface ScaleFleetDeps {
  readonly sqs: SQSClient;
  readonly ecs: ECSClient;
  readonly dynamodb: DynamoDBClient;
  readonly now: () => number;
}

export interface ScaleFleetResult extends ScalerDecision {
  readonly visible: number;
  readonly inFlight: number;
  readonly previousDesired: number;
  readonly running: number;
}

/**
 * One scaling pass: reads the jobs queue's backlog, the service's counts and the stored last
 * non-empty time, decides (src/scaling/scaler.ts), then updates the service when the count changes
 * and the stored time when it moves. Runs one at a time (reserved concurrency 1), so the stored
 * item needs no conditional write.
 */
export async function scaleFleet(target: ScaleFleetTarget, settings: ScalerSettings, deps: ScaleFleetDeps): Promise<ScaleFleetResult> {
  const [backlog, service, lastNonEmptyAt] = await Promise.all([
    readBacklog(deps.sqs, target.queueUrl),
    readService(deps.ecs, target),
    readLastNonEmpty(deps.dynamodb, target.stateTable),
  ]);
  const now = deps.now();
  const decision = decideDesiredCount({ ...backlog, ...service, lastNonEmptyAt, now }, settings);
  if (decision.changed) {
    await deps.ecs.send(new UpdateServiceCommand({ cluster: target.cluster, service: target.service, desiredCount: decision.desired }));
  }
  if (decision.lastNonEmptyAt !== undefined && decision.lastNonEmptyAt !== lastNonEmptyAt) {
    await writeLastNonEmpty(deps.dynamodb, target.stateTable, decision.lastNonEmptyAt);
  }
  return { ...decision, ...backlog, previousDesired: service.desired, running: service.running };
}

async function readBacklog(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes: attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: count(attributes.ApproximateNumberOfMessages, 'ApproximateNumberOfMessages'),
    inFlight: count(attributes.ApproximateNumberOfMessagesNotVisible, 'ApproximateNumberOfMessagesNotVisible'),
  };
}

async function readService(ecs: ECSClient, target: ScaleFleetTarget): Promise<{ desired: number; running: number }> {
  const { services = [] } = await ecs.send(new DescribeServicesCommand({ cluster: target.cluster, services: [target.service] }));
  const service = services[0];
  if (!service || service.status !== 'ACTIVE') throw new Error(`ECS service ${target.service} is not active`);
  return { desired: service.desiredCount ?? 0, running: service.runningCount ?? 0 };
}

async function readLastNonEmpty(dynamodb: DynamoDBClient, table: string): Promise<number | undefined> {
  const { Item: item } = await dynamodb.send(
    new GetItemCommand({ TableName: table, Key: { id: { S: STATE_ITEM_ID } }, ConsistentRead: true }),
  );
  const raw = item?.lastNonEmptyAt?.N;
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

async function writeLastNonEmpty(dynamodb: DynamoDBClient, table: string, at: number): Promise<void> {
  await dynamodb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        id: { S: STATE_ITEM_ID },
        lastNonEmptyAt: { N: String(at) },
        expiresAt: { N: String(Math.floor(at / 1000) + STATE_TTL_SECONDS) },
      },
    }),
  );
}

function count(raw: string | undefined, name: string): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isSafeInteger(n) || n < 0) throw new Error(`queue attribute ${name} missing or not a count`);
  return n;
}

/**
 * | variable | what |
 * | --- | --- |
 * | JOBS_QUEUE_URL | the jobs queue |
 * | CLUSTER_NAME, SERVICE_NAME | the GPU worker's ECS service |
 * | STATE_TABLE | DynamoDB table holding the last non-empty time |
 * | MAX_TASKS, JOBS_PER_TASK, IDLE_MINUTES | the scaling settings |
 */
export function scaleFleetConfigFromEnv(env: Env): { target: ScaleFleetTarget; settings: ScalerSettings } {
  return {
    target: {
      queueUrl: required(env, 'JOBS_QUEUE_URL'),
      cluster: required(env, 'CLUSTER_NAME'),
      service: required(env, 'SERVICE_NAME'),
      stateTable: required(env, 'STATE_TABLE'),
    },
    settings: {
      maxTasks: positiveInt(env, 'MAX_TASKS'),
      jobsPerTask: positiveInt(env, 'JOBS_PER_TASK'),
      idleMs: positiveInt(env, 'IDLE_MINUTES') * 60_000,
    },
  };
}
