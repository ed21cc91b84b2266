import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { UntxtConfig } from './config';
import { ConnectionsTable } from './connections-table';
import { HttpApi } from './api';
import { ApiProvisioning } from './api-provisioning';
import { Database } from './database';
import { TaskEvents } from './event-bus';
import { Keys } from './keys';
import { DatabaseMigrations } from './migrations';
import { Monitoring } from './monitoring';
import { Network } from './network';
import { GpuScaler } from './gpu-scaler';
import { gpuInstanceType } from './gpu-instances';
import { GpuWorker, WORKER_MAX_JOBS } from './gpu-worker';
import { ModelsBucket } from './models-bucket';
import { Pipeline } from './pipeline';
import { PipelineQueues } from './queues';
import { Realtime } from './realtime';
import { databaseRemovalPolicyFor, removalPolicyFor } from './removal';
import { DocumentStorage } from './storage';
import { NotifiedStatusTable } from './notified-status-table';
import { TicketsTable } from './tickets-table';
import { ROUTES } from '../lambdas/api/routes';

const MIB = 1024 * 1024;

export interface UntxtStackProps extends StackProps {
  readonly config: UntxtConfig;
}

/**
 * The whole service in one stack, one construct per concern. Environment-agnostic on purpose:
 * no account or region, no look-ups, so `cdk synth` runs offline and without credentials.
 */
export class UntxtStack extends Stack {
  readonly keys: Keys;
  readonly network: Network;
  readonly storage: DocumentStorage;
  readonly queues: PipelineQueues;
  readonly events: TaskEvents;
  readonly database: Database;
  readonly migrations: DatabaseMigrations;
  readonly connections: ConnectionsTable;
  readonly tickets: TicketsTable;
  readonly notifiedStatus: NotifiedStatusTable;
  readonly provisioning: ApiProvisioning;
  readonly api: HttpApi;
  readonly monitoring: Monitoring;
  readonly pipeline: Pipeline;
  readonly realtime: Realtime;
  readonly models: ModelsBucket;
  readonly gpuWorker: GpuWorker;
  readonly gpuScaler: GpuScaler;

  constructor(scope: Construct, id: string, props: UntxtStackProps) {
    super(scope, id, props);
    const { config } = props;
    const retainData = removalPolicyFor(config.dataRemovalPolicy);
    const logs = { logRetentionDays: config.logRetentionDays, logRemovalPolicy: retainData };

    this.keys = new Keys(this, 'Keys', { removalPolicy: retainData });
    this.network = new Network(this, 'Network', { logKey: this.keys.logs, ...logs });
    this.storage = new DocumentStorage(this, 'Storage', {
      dataKey: this.keys.data,
      removalPolicy: retainData,
      uploadExpiryDays: config.uploadExpiryDays,
      resultExpiryDays: config.resultExpiryDays,
      accessLogExpiryDays: config.accessLogExpiryDays,
      corsAllowedOrigins: config.corsAllowedOrigins,
    });
    this.queues = new PipelineQueues(this, 'Queues', {
      key: this.keys.queues,
      uploadsBucket: this.storage.bucket,
      intakeMaxReceiveCount: config.intakeMaxReceiveCount,
      jobsMaxReceiveCount: config.jobsMaxReceiveCount,
      retentionDays: config.queueRetentionDays,
      deadLetterRetentionDays: config.deadLetterRetentionDays,
    });
    this.events = new TaskEvents(this, 'Events', {
      archiveRetentionDays: config.eventArchiveRetentionDays,
      key: this.keys.events,
    });
    this.database = new Database(this, 'Database', {
      vpc: this.network.vpc,
      subnets: this.network.subnets,
      dataKey: this.keys.data,
      logKey: this.keys.logs,
      logRetentionDays: config.logRetentionDays,
      minCapacity: config.databaseMinCapacity,
      maxCapacity: config.databaseMaxCapacity,
      backupRetentionDays: config.backupRetentionDays,
      deletionProtection: config.deletionProtection,
      removalPolicy: databaseRemovalPolicyFor(config.dataRemovalPolicy),
      logRemovalPolicy: retainData,
    });
    this.migrations = new DatabaseMigrations(this, 'Migrations', {
      network: this.network,
      database: this.database,
      logKey: this.keys.logs,
      ...logs,
    });
    this.connections = new ConnectionsTable(this, 'Connections', { key: this.keys.realtime });
    // The gateway endpoints' policies name exactly these; the network exists before them. The
    // connections table is reached from the VPC by the admin route that disables a user.
    this.network.allowS3Bucket(this.storage.bucket, 'readWrite');
    this.network.allowDynamoDbTable(this.connections.table);
    this.tickets = new TicketsTable(this, 'Tickets', { key: this.keys.realtime });
    this.network.allowDynamoDbTable(this.tickets.table);
    // Used by the notifier alone, outside the VPC: not allowed through the gateway endpoint.
    this.notifiedStatus = new NotifiedStatusTable(this, 'NotifiedStatus', { key: this.keys.realtime });
    this.provisioning = new ApiProvisioning(this, 'ApiProvisioning', {
      network: this.network,
      database: this.database,
      migrations: this.migrations,
      dataKey: this.keys.data,
      logKey: this.keys.logs,
      logRetentionDays: config.logRetentionDays,
      removalPolicy: retainData,
      firstAdminEmail: config.firstAdminEmail,
    });
    const documents = { bucket: this.storage.bucket, encryptionKey: this.storage.encryptionKey };
    this.api = new HttpApi(this, 'Api', {
      routes: ROUTES,
      settings: {
        registrationMode: config.registrationMode,
        maxUploadBytes: config.maxUploadMegabytes * MIB,
        maxPages: config.maxPages,
        maxConcurrentTasks: config.maxConcurrentTasks,
        maxPagesPerDay: config.maxPagesPerDay,
        maxBytesPerDay: config.maxUploadGigabytesPerDay * 1024 * MIB,
        throttleRateLimit: config.apiThrottleRateLimit,
        throttleBurstLimit: config.apiThrottleBurstLimit,
        wafRateLimit: config.apiWafRateLimit,
        maxBodyBytes: config.apiMaxBodyKilobytes * 1024,
      },
      network: this.network,
      database: this.database,
      documents,
      bus: this.events.bus,
      tickets: this.tickets,
      connections: this.connections,
      signingSecret: this.provisioning.signingSecret,
      signingSecretKey: this.keys.data,
      publicJwks: this.provisioning.publicJwks,
      logKey: this.keys.logs,
      ...logs,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', { key: this.keys.queues, alarmEmail: config.alarmEmail });
    this.pipeline = new Pipeline(this, 'Pipeline', {
      network: this.network,
      database: this.database,
      documents,
      queues: this.queues,
      queueKey: this.keys.queues,
      bus: this.events.bus,
      monitoring: this.monitoring,
      intakeMaxConcurrency: config.intakeMaxConcurrency,
      maxPages: config.maxPages,
      maxPagesPerDay: config.maxPagesPerDay,
      intakeAgeAlarm: Duration.minutes(config.intakeAgeAlarmMinutes),
      jobsAgeAlarm: Duration.minutes(config.jobsAgeAlarmMinutes),
      deadLetterRetentionDays: config.deadLetterRetentionDays,
      logKey: this.keys.logs,
      ...logs,
    });
    this.realtime = new Realtime(this, 'Realtime', {
      connections: this.connections,
      tickets: this.tickets,
      notifiedStatus: this.notifiedStatus,
      bus: this.events.bus,
      queueKey: this.keys.queues,
      monitoring: this.monitoring,
      throttleRateLimit: config.apiThrottleRateLimit,
      throttleBurstLimit: config.apiThrottleBurstLimit,
      deadLetterRetentionDays: config.deadLetterRetentionDays,
      logKey: this.keys.logs,
      ...logs,
    });
    this.models = new ModelsBucket(this, 'Models', { accessLogBucket: this.storage.accessLogBucket, removalPolicy: retainData });
    const instance = gpuInstanceType(config.gpuInstanceType);
    if (!instance) throw new Error(`unknown GPU instance type ${config.gpuInstanceType}`);
    this.gpuWorker = new GpuWorker(this, 'GpuWorker', {
      network: this.network,
      database: this.database,
      documents,
      jobsQueue: this.queues.jobs,
      queueKey: this.keys.queues,
      bus: this.events.bus,
      models: this.models,
      monitoring: this.monitoring,
      modelId: config.modelId,
      modelManifestSha256: config.modelManifestSha256,
      instance,
      maxInstances: config.gpuMaxInstances,
      capacity: config.gpuCapacity,
      maxPagesInFlight: config.maxPagesInFlight,
      maxPages: config.maxPages,
      volumeKey: this.keys.gpuVolumes,
      logKey: this.keys.logs,
      ...logs,
    });
    // The realtime key: the one for the little state kept by functions outside the VPC (never PHI).
    this.gpuScaler = new GpuScaler(this, 'GpuScaler', {
      cluster: this.gpuWorker.cluster,
      service: this.gpuWorker.service,
      jobsQueue: this.queues.jobs,
      bus: this.events.bus,
      maxTasks: config.gpuMaxInstances,
      jobsPerTask: WORKER_MAX_JOBS,
      idleMinutes: config.scaleToZeroIdleMinutes,
      stateKey: this.keys.realtime,
      logKey: this.keys.logs,
      ...logs,
    });
    // The ws-ticket route hands out this URL with a ticket in its query.
    this.api.functions.wsTicket?.addEnvironment('WEBSOCKET_URL', this.realtime.url);
    this.addOutputs();
  }

  private addOutputs(): void {
    const outputs: Record<string, { value: string; description: string }> = {
      DocumentsBucketName: { value: this.storage.bucket.bucketName, description: 'Bucket for uploads/ and results/' },
      EventBusName: { value: this.events.bus.eventBusName, description: 'EventBridge bus for task status events' },
      IntakeQueueUrl: { value: this.queues.intake.queueUrl, description: 'S3 upload notifications for the intake function' },
      IntakeDeadLetterQueueUrl: { value: this.queues.intakeDeadLetter.queueUrl, description: 'Intake messages that failed every attempt' },
      JobsQueueUrl: { value: this.queues.jobs.queueUrl, description: 'OCR jobs for the GPU worker' },
      JobsDeadLetterQueueUrl: { value: this.queues.jobsDeadLetter.queueUrl, description: 'Jobs that failed every attempt' },
      DatabaseEndpoint: { value: this.database.hostname, description: 'Aurora PostgreSQL writer endpoint (TLS, IAM auth)' },
      DatabaseSecretArn: { value: this.database.masterSecret.secretArn, description: 'RDS-managed master secret (operators only)' },
      ConnectionsTableName: { value: this.connections.table.tableName, description: 'WebSocket connections table' },
      ApiUrl: { value: this.api.url, description: 'HTTP API stage URL; the API is under v1/ (health at /health)' },
      WebSocketUrl: { value: this.realtime.url, description: 'WebSocket stage URL for task status (connect with a ticket from POST /v1/ws-ticket)' },
      FirstAdminSecretArn: { value: this.provisioning.firstAdminSecret.secretArn, description: 'First admin: email, password and TOTP secret (read once, operators only)' },
      GpuClusterName: { value: this.gpuWorker.cluster.clusterName, description: 'ECS cluster of the GPU workers' },
      GpuServiceName: { value: this.gpuWorker.service.serviceName, description: 'ECS service of the GPU worker (desired count set by the scaler)' },
      ModelsBucketName: { value: this.models.bucket.bucketName, description: 'Bucket to stage model weights into (npm run stage-weights)' },
      AlarmTopicArn: { value: this.monitoring.topic.topicArn, description: 'SNS topic the alarms publish to' },
    };
    for (const [id, output] of Object.entries(outputs)) new CfnOutput(this, id, output);
  }
}
