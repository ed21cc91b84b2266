import * as path from 'node:path';
import { Duration, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TASK_EVENT_SOURCE, TASK_STATUS_CHANGED } from './event-bus';
import { grantTableKey } from './keys';
import { createNodeFunction } from './node-function';
import { shortLivedTable } from './short-lived-table';

const REPO_ROOT = path.join(__dirname, '..');

/** DESIGN "Scaling to and from zero": every minute, and on every `queued` task event. */
export const SCALE_INTERVAL = Duration.minutes(1);

export interface GpuScalerProps {
  readonly cluster: ecs.ICluster;
  readonly service: ecs.IBaseService;
  readonly jobsQueue: sqs.IQueue;
  readonly bus: events.IEventBus;
  readonly maxTasks: number;
  readonly jobsPerTask: number;
  readonly idleMinutes: number;
  /** Encrypts the state table (a timestamp; never PHI): the key of the data kept outside the VPC. */
  readonly stateKey: kms.IKey;
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The scaler Lambda (lambdas/scaler): sets the GPU service's desired count from the jobs queue's
 * visible plus in-flight messages, and takes it to zero after the idle period. Woken every minute
 * by a rule and at once by `queued` task events on the bus, so intake needs no call of its own
 * and no endpoint. Outside the VPC: it handles counts only, never document content, and reaches
 * SQS, ECS and DynamoDB over TLS with a role limited to this queue, service and table. One run at
 * a time (reserved concurrency 1), so the stored time needs no locking.
 *
 * The last non-empty time lives in a one-item DynamoDB table: an SSM parameter would do, but its
 * client is not a dependency here and DynamoDB's is, with a customer key and a TTL that clears a
 * record the scaler stopped refreshing (the scaler then restarts the idle clock, safely).
 */
export class GpuScaler extends Construct {
  readonly function: NodejsFunction;
  readonly stateTable: dynamodb.Table;
  readonly scheduleRule: events.Rule;
  readonly queuedRule: events.Rule;

  constructor(scope: Construct, id: string, props: GpuScalerProps) {
    super(scope, id);
    this.stateTable = shortLivedTable(this, {
      partitionKey: 'id',
      ttlAttribute: 'expiresAt',
      key: props.stateKey,
      noBackupReason:
        'One item, the time the jobs queue was last seen non-empty; losing it only restarts the idle period before the GPU fleet scales to zero.',
    });
    this.function = createNodeFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, 'lambdas', 'scaler', 'handler.ts'),
      description: 'untxt GPU scaler: sets the worker service\'s desired count from the jobs queue',
      memorySize: 256,
      timeout: Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: 1,
      // A failed run is not retried: the next one is at most a minute away.
      retryAttempts: 0,
      maxEventAge: Duration.minutes(2),
      environment: {
        JOBS_QUEUE_URL: props.jobsQueue.queueUrl,
        CLUSTER_NAME: props.cluster.clusterName,
        SERVICE_NAME: props.service.serviceName,
        STATE_TABLE: this.stateTable.tableName,
        MAX_TASKS: String(props.maxTasks),
        JOBS_PER_TASK: String(props.jobsPerTask),
        IDLE_MINUTES: String(props.idleMinutes),
      },
      logKey: props.logKey,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    this.grant(props);

    const target = new targets.LambdaFunction(this.function, { retryAttempts: 0, maxEventAge: Duration.minutes(2) });
    this.scheduleRule = new events.Rule(this, 'Schedule', {
      description: 'Runs the untxt GPU scaler every minute',
      schedule: events.Schedule.rate(SCALE_INTERVAL),
      targets: [target],
    });
    this.queuedRule = new events.Rule(this, 'QueuedRule', {
      eventBus: props.bus,
      description: 'Wakes the untxt GPU scaler when a task is queued',
      eventPattern: { source: [TASK_EVENT_SOURCE], detailType: [TASK_STATUS_CHANGED], detail: { status: ['queued'] } },
      targets: [target],
    });
    this.acknowledgeFindings();
  }

  /** GetQueueAttributes on the jobs queue; Describe/UpdateService on this service; the state item. */
  private grant(props: GpuScalerProps): void {
    const role = this.function.grantPrincipal;
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: [props.jobsQueue.queueArn] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ecs:DescribeServices', 'ecs:UpdateService'], resources: [props.service.serviceArn] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resources: [this.stateTable.tableArn] }),
    );
    grantTableKey(this.stateTable, this.function, 'write');
  }

  private acknowledgeFindings(): void {
    const reasonNoDlq =
      'Invoked asynchronously by two EventBridge rules with no retries: every run reads the whole state afresh, and the next run is at most a minute away, so a failed run needs no queue of its own. Errors show in the function\'s error metric.';
    for (const rule of [this.scheduleRule, this.queuedRule]) {
      Validations.of(rule).acknowledge({
        id: 'Serverless-EventBusDLQ',
        reason:
          'A wake-up EventBridge could not deliver needs no record: the event carries nothing the scaler uses (each run reads the queue and service afresh), and the schedule runs it again within a minute.',
      });
    }
    Validations.of(this.function).acknowledge(
      { id: 'HIPAA.Security-LambdaDLQ', reason: reasonNoDlq },
      { id: 'Serverless-LambdaDLQ', reason: reasonNoDlq },
      { id: 'Serverless-LambdaAsyncFailureDestination', reason: reasonNoDlq },
      {
        id: 'HIPAA.Security-LambdaInsideVPC',
        reason:
          'Runs outside the VPC by design (DESIGN "Where things run"): it reads a queue\'s message counts and sets a service\'s desired count, never document content or ids; it reaches SQS, ECS and DynamoDB over TLS with a role limited to this queue, service and table.',
      },
    );
  }
}
