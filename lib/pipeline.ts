import * as path from 'node:path';
import { Duration, Size, Stack, Validations, type CfnElement, type RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { BundlingOptions, NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Database } from './database';
import { DocumentAccess, type DocumentBucket } from './document-access';
import type { Monitoring } from './monitoring';
import type { Network } from './network';
import { createNodeFunction, invokedSynchronously, type NodeFunctionProps } from './node-function';
import { encryptedQueue, grantSendToEncryptedQueue, INTAKE_FUNCTION_TIMEOUT, type PipelineQueues } from './queues';
import { UPLOADS_PREFIX } from './storage';

const REPO_ROOT = path.join(__dirname, '..');

/** DESIGN "Task states": the sweeper runs every 5 minutes. */
export const SWEEP_INTERVAL = Duration.minutes(5);

/** The jobs DLQ's visibility timeout is SQS's default; a consumer's timeout may not exceed it. */
const DEAD_LETTER_CONSUMER_TIMEOUT = Duration.seconds(25);

export interface PipelineProps {
  readonly network: Network;
  readonly database: Database;
  readonly documents: DocumentBucket;
  readonly queues: PipelineQueues;
  readonly queueKey: kms.IKey;
  readonly bus: events.IEventBus;
  readonly monitoring: Monitoring;
  readonly intakeMaxConcurrency: number;
  readonly maxPages: number;
  /** The API's daily page quota, which intake (and the sweeper, running intake) checks again once pages are counted. */
  readonly maxPagesPerDay: number;
  readonly intakeAgeAlarm: Duration;
  readonly jobsAgeAlarm: Duration;
  readonly deadLetterRetentionDays: number;
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * pdf.js is ES modules and reads its fonts, CMaps and WebAssembly from its package folder at run
 * time (src/pipeline/pdfjs.ts), so it is not bundled: the parts it needs are copied beside the
 * bundle from the local node_modules (no network, no Docker).
 */
const PDFJS_PARTS = ['package.json', 'legacy/build/pdf.mjs', 'legacy/build/pdf.worker.mjs', 'standard_fonts', 'cmaps', 'wasm', 'iccs'];
const WITH_PDFJS: BundlingOptions = {
  externalModules: ['pg-native', 'pdfjs-dist'],
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir: string, outputDir: string) => {
      const from = `${inputDir}/node_modules/pdfjs-dist`;
      const to = `${outputDir}/node_modules/pdfjs-dist`;
      return [`mkdir -p "${to}/legacy/build"`, ...PDFJS_PARTS.map((part) => `cp -R "${from}/${part}" "${to}/${part}"`)];
    },
  },
};

/**
 * The CPU part of the pipeline (DESIGN "Intake", "Task states"):
 * - intake: the intake queue (S3 upload notifications) → checks by ranged reads → task queued
 *   and a job message, or failed. Batch size 1, concurrency capped on the event source mapping.
 * - sweeper: every 5 minutes by EventBridge Scheduler, re-sends stale queued jobs and expires
 *   abandoned uploads (and takes in uploads whose notification was lost).
 * - dead-letter consumer: fails the tasks of jobs that ended on the jobs DLQ.
 * All three run in the isolated subnets as the `untxt_worker` database role, which cannot read
 * users, sessions or original file names. Alarms on every DLQ and on waiting work.
 */
export class Pipeline extends Construct {
  readonly securityGroup: ec2.ISecurityGroup;
  readonly intake: NodejsFunction;
  readonly sweeper: NodejsFunction;
  readonly deadLetterConsumer: NodejsFunction;
  readonly sweepSchedule: scheduler.Schedule;
  /** Failed sweeps: the schedule's undeliverable invocations and the function's failed runs. */
  readonly sweeperDeadLetter: sqs.IQueue;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    const { network, database, queues } = props;
    this.securityGroup = network.newEndpointClientGroup(this, 'SecurityGroup', 'Pipeline functions: PostgreSQL and the VPC endpoints only');
    database.allowConnectionsFrom(this.securityGroup);
    const documents = new DocumentAccess(props.documents);

    this.intake = this.newFunction('IntakeFunction', props, {
      entry: path.join(REPO_ROOT, 'lambdas', 'intake', 'handler.ts'),
      description: 'untxt intake: checks an upload by ranged reads and queues its job, or fails the task',
      timeout: INTAKE_FUNCTION_TIMEOUT,
      memorySize: 1024,
      // pdf.js may spill large cross-reference data; the default 512 MiB is tight for 3,000-page files.
      ephemeralStorageSize: Size.gibibytes(2),
      bundling: WITH_PDFJS,
    });
    this.grantIntake(this.intake, props, documents);
    this.intake.addEventSource(
      new SqsEventSource(queues.intake, {
        batchSize: 1,
        maxConcurrency: props.intakeMaxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    acknowledgeEventSourceConsumer(this.intake, 'the intake queue', 'the intake DLQ');

    this.sweeperDeadLetter = encryptedQueue(this, 'SweeperDeadLetter', props.queueKey, {
      retentionPeriod: Duration.days(props.deadLetterRetentionDays),
    });
    Validations.of(this.sweeperDeadLetter).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This queue is itself a dead-letter queue (failed sweeps); the next sweep, 5 minutes later, does the same work again.',
    });
    this.sweeper = this.newFunction('SweeperFunction', props, {
      entry: path.join(REPO_ROOT, 'lambdas', 'sweeper', 'handler.ts'),
      description: 'untxt sweeper: re-sends stale queued jobs and expires abandoned uploads (every 5 minutes)',
      timeout: Duration.minutes(4),
      memorySize: 1024,
      ephemeralStorageSize: Size.gibibytes(2),
      bundling: WITH_PDFJS,
      // A failed sweep is not retried: the next one runs within 5 minutes. It is recorded instead.
      retryAttempts: 0,
      deadLetterQueue: this.sweeperDeadLetter,
      // One sweep at a time; a slow one must not overlap the next.
      reservedConcurrentExecutions: 1,
    });
    this.grantIntake(this.sweeper, props, documents);
    Validations.of(this.sweeper).acknowledge({
      id: 'Serverless-LambdaAsyncFailureDestination',
      reason:
        'Failed asynchronous runs go to the function dead-letter queue (SweeperDeadLetter, alarmed); an on-failure destination as well would deliver each failure twice. The next scheduled run repeats the work.',
    });
    this.sweepSchedule = new scheduler.Schedule(this, 'SweepSchedule', {
      description: 'Runs the untxt sweeper',
      schedule: scheduler.ScheduleExpression.rate(SWEEP_INTERVAL),
      target: new targets.LambdaInvoke(this.sweeper, {
        role: this.newSchedulerRole(props.queueKey),
        deadLetterQueue: this.sweeperDeadLetter,
        retryAttempts: 2,
        // A sweep that could not start within a sweep interval is superseded by the next one.
        maxEventAge: Duration.minutes(4),
      }),
    });

    this.deadLetterConsumer = this.newFunction('DeadLetterFunction', props, {
      entry: path.join(REPO_ROOT, 'lambdas', 'dlq', 'handler.ts'),
      description: 'untxt jobs DLQ consumer: fails the tasks of jobs that failed every attempt',
      timeout: DEAD_LETTER_CONSUMER_TIMEOUT,
      memorySize: 256,
    });
    database.grantConnect(this.deadLetterConsumer, 'untxt_worker');
    props.bus.grantPutEventsTo(this.deadLetterConsumer);
    this.deadLetterConsumer.addEventSource(new SqsEventSource(queues.jobsDeadLetter, { batchSize: 10, maxConcurrency: 2, reportBatchItemFailures: true }));
    acknowledgeEventSourceConsumer(this.deadLetterConsumer, 'the jobs DLQ', 'that queue, where an unsettled message waits for the next receive');

    this.addAlarms(props);
  }

  /**
   * EventBridge Scheduler's role for the sweep: only this account's schedules may assume it. The
   * target adds InvokeFunction on the sweeper and SendMessage on its DLQ; the DLQ is encrypted, so
   * the role may also use the queue key (the target does not add that).
   */
  private newSchedulerRole(queueKey: kms.IKey): iam.Role {
    const role = new iam.Role(this, 'SweepScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [queueKey.keyArn] }));
    const sweeperId = Stack.of(this).getLogicalId(this.sweeper.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::<${sweeperId}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on the sweeper function and its versions only (CDK grants the function ARN with `:*`).',
      },
      {
        id: 'HIPAA.Security-IAMNoInlinePolicy',
        reason: "The sweep schedule's role: its one policy (invoke the sweeper, send to its DLQ with the queue key) is generated by CDK and attached to this role alone.",
      },
    );
    return role;
  }

  private newFunction(
    id: string,
    props: PipelineProps,
    fnProps: Omit<NodeFunctionProps, 'logKey' | 'logRetentionDays' | 'logRemovalPolicy'>,
  ): NodejsFunction {
    const { network, database, queues } = props;
    return createNodeFunction(this, id, {
      ...fnProps,
      tracing: lambda.Tracing.ACTIVE,
      vpc: network.vpc,
      vpcSubnets: network.subnets,
      securityGroups: [this.securityGroup],
      environment: {
        ...database.lambdaConnectionEnvironment('untxt_worker'),
        DOCUMENTS_BUCKET: props.documents.bucket.bucketName,
        JOBS_QUEUE_URL: queues.jobs.queueUrl,
        EVENT_BUS_NAME: props.bus.eventBusName,
        MAX_PAGES: String(props.maxPages),
        MAX_PAGES_PER_DAY: String(props.maxPagesPerDay),
      },
      logKey: props.logKey,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
    });
  }

  /**
   * What intake does (the sweeper runs intake too): read uploads (attributes and byte ranges),
   * erase the objects of unknown or deleted tasks, send jobs, publish status events, and the
   * database as untxt_worker.
   */
  private grantIntake(fn: NodejsFunction, props: PipelineProps, documents: DocumentAccess): void {
    documents.grantRead(fn, UPLOADS_PREFIX);
    documents.grantErase(fn, [UPLOADS_PREFIX]);
    grantSendToEncryptedQueue(fn, props.queues.jobs, props.queueKey);
    props.bus.grantPutEventsTo(fn);
    props.database.grantConnect(fn, 'untxt_worker');
  }

  private addAlarms(props: PipelineProps): void {
    const { monitoring, queues } = props;
    monitoring.alarmOnDepth('IntakeDeadLetterDepth', queues.intakeDeadLetter, 'Intake failed on an upload notification every time');
    monitoring.alarmOnDepth('JobsDeadLetterDepth', queues.jobsDeadLetter, 'Jobs failed every attempt and the DLQ consumer has not settled them');
    monitoring.alarmOnArrivals('JobsDeadLetterArrivals', queues.jobsDeadLetter, 'Jobs failed every attempt (their tasks are failed by the DLQ consumer)');
    monitoring.alarmOnDepth('SweeperDeadLetterDepth', this.sweeperDeadLetter, 'A scheduled sweep failed');
    monitoring.alarmOnOldestMessage('IntakeOldestMessage', queues.intake, props.intakeAgeAlarm, 'Intake is behind');
    monitoring.alarmOnOldestMessage('JobsOldestMessage', queues.jobs, props.jobsAgeAlarm, 'OCR jobs are waiting');
  }
}

function acknowledgeEventSourceConsumer(fn: NodejsFunction, source: string, failures: string): void {
  const synchronous = invokedSynchronously(
    `by the Lambda event source mapping of ${source}`,
    `a failed record returns to the queue and, after the receive limit, goes to ${failures}`,
  );
  Validations.of(fn).acknowledge(
    ...synchronous,
    {
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason: `SQS event source mappings take no on-failure destination (only stream and Kafka sources do). ${synchronous[0].reason}`,
    },
    {
      id: 'HIPAA.Security-LambdaConcurrency',
      reason:
        "Concurrency is capped on the event source mapping (maximumConcurrency), as DESIGN \"Intake\" requires: reserved concurrency would throttle the SQS poller and push healthy messages into the DLQ.",
    },
  );
}
