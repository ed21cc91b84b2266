import * as path from 'node:path';
import { Annotations, Duration, IgnoreMode, Stack, Validations, type CfnElement, type RemovalPolicy } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { GpuPurchaseOption } from './config';
import type { Database } from './database';
import { DocumentAccess, type DocumentBucket } from './document-access';
import { CONTAINER_STOP_TIMEOUT, GpuCapacity, HOST_MODEL_DIR } from './gpu-capacity';
import type { GpuInstanceType } from './gpu-instances';
import { modelFit } from './gpu-sizing';
import type { ModelsBucket } from './models-bucket';
import type { Monitoring } from './monitoring';
import type { Network } from './network';
import { RESULTS_PREFIX, UPLOADS_PREFIX } from './storage';

const REPO_ROOT = path.join(__dirname, '..');

/**
 * What the image build needs from the repository (DESIGN contract): everything else, notably
 * node_modules, cdk.out, web/ and test data, stays out of the asset, so staging and hashing it
 * stay fast.
 */
const IMAGE_CONTEXT = ['package.json', 'package-lock.json', 'tsconfig.json', 'src/', 'lambdas/', 'inference-container/'];
/** As inference-container/Dockerfile.dockerignore, which BuildKit reads for a build by hand. */
const IMAGE_EXCLUDE = ['*', ...IMAGE_CONTEXT.map((p) => `!${p}`), '**/node_modules', '**/*.test.ts'];

/** Where the container sees the instance's weights folder. */
export const CONTAINER_MODEL_DIR = '/models';

/** Jobs one worker holds at once (its MAX_JOBS); the scaler asks for one task per this many jobs. */
export const WORKER_MAX_JOBS = 8;

const MIB_PER_GIB = 1024;

/**
 * The worker's log lines the alarms count, by their `message` (inference-container/src/worker.ts
 * LOG_PAGE_FALLBACK and LOG_MODEL_SERVER_FAILED; test/infra/gpu-log-messages.test.ts holds them equal).
 * Written out rather than imported: the worker module would bring the pipeline into every synthesis.
 */
export const WORKER_LOG_MESSAGES = {
  pageFallback: 'Page read by a fallback',
  modelServerFailed: 'Model server failed a page',
} as const;

/**
 * More pages than this read by a fallback in a window: a model or prompt that fails answers often
 * (quietly, since tasks complete); a few now and then are pages the model cannot read.
 */
const FALLBACK_PAGES_ALARM = { moreThan: 20, window: Duration.minutes(15) };
/** This many pages failed by the model server in a window: vLLM down, hung or out of memory (tasks retry, then fail). */
const MODEL_SERVER_FAILURES_ALARM = { atLeast: 5, window: Duration.minutes(5) };

export interface GpuWorkerProps {
  readonly network: Network;
  readonly database: Database;
  readonly documents: DocumentBucket;
  readonly jobsQueue: sqs.IQueue;
  readonly queueKey: kms.IKey;
  readonly bus: events.IEventBus;
  readonly models: ModelsBucket;
  /** Where the fallback and model-server alarms publish. */
  readonly monitoring: Monitoring;
  readonly modelId: string;
  /** Empty until weights are staged: the stack deploys, the worker refuses to start. */
  readonly modelManifestSha256: string;
  readonly instance: GpuInstanceType;
  readonly maxInstances: number;
  readonly capacity: GpuPurchaseOption;
  readonly maxPagesInFlight: number;
  readonly maxPages: number;
  /** Encrypts the instances' root volumes. */
  readonly volumeKey: kms.IKey;
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The GPU worker (DESIGN "The GPU worker"): one container per GPU instance running vLLM and the
 * worker (inference-container/), as an ECS service on the GPU capacity provider. The service
 * starts at zero tasks; the scaler (lib/gpu-scaler.ts) sets its desired count. Tasks run in
 * awsvpc mode in the isolated subnets with a security group that reaches the VPC endpoints and
 * PostgreSQL only, and a task role limited to the jobs queue, the documents' uploads/ (read) and
 * results/ (read, write, erase), the bus, the database as untxt_worker, scale-in protection of
 * its own tasks and reading the weights.
 */
export class GpuWorker extends Construct {
  readonly capacity: GpuCapacity;
  readonly cluster: ecs.Cluster;
  readonly service: ecs.Ec2Service;
  readonly taskDefinition: ecs.Ec2TaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly taskSecurityGroup: ec2.ISecurityGroup;
  readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: GpuWorkerProps) {
    super(scope, id);
    const fit = modelFit(props.modelId, props.instance.instanceType);
    if (fit.verdict === 'warn' || fit.verdict === 'unknown') Annotations.of(this).addWarningV2('untxt:gpuModelFit', fit.message);
    if (props.modelManifestSha256 === '') {
      Annotations.of(this).addWarningV2(
        'untxt:modelWeightsNotStaged',
        `untxt:modelManifestSha256 is not set: the GPU worker cannot start until the weights of ${props.modelId} are staged into the models bucket and their manifest's SHA-256 is deployed (inference-container/README.md, "Staging the weights"). Everything else works; tasks stay queued.`,
      );
    }
    this.capacity = new GpuCapacity(this, 'Capacity', {
      network: props.network,
      instance: props.instance,
      maxInstances: props.maxInstances,
      capacity: props.capacity,
      volumeKey: props.volumeKey,
      weightsGiB: fit.weightsGiB ?? 80,
    });
    this.cluster = this.capacity.cluster;

    this.taskSecurityGroup = props.network.newEndpointClientGroup(this, 'TaskSecurityGroup', 'GPU worker tasks: PostgreSQL and the VPC endpoints only');
    props.database.allowConnectionsFrom(this.taskSecurityGroup);
    props.network.allowS3Bucket(props.models.bucket, 'read');

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.logKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.logRemovalPolicy,
    });
    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'TaskDefinition', {
      networkMode: ecs.NetworkMode.AWS_VPC,
      volumes: [{ name: 'models', host: { sourcePath: HOST_MODEL_DIR } }],
    });
    this.container = this.addContainer(props);
    this.grantTaskRole(props);
    this.addAlarms(props.monitoring);

    this.service = new ecs.Ec2Service(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      // The scaler owns the count; a deploy starts at (or resets to) zero, and the scaler brings
      // it back within a minute when jobs wait. Protected tasks (holding a job) are not stopped.
      desiredCount: 0,
      minHealthyPercent: 0,
      // One GPU per task and per instance: a rolling update replaces tasks rather than adding GPUs.
      maxHealthyPercent: 100,
      circuitBreaker: { enable: true, rollback: true },
      capacityProviderStrategies: [{ capacityProvider: this.capacity.capacityProvider.capacityProviderName, weight: 1 }],
      vpcSubnets: props.network.subnets,
      securityGroups: [this.taskSecurityGroup],
      assignPublicIp: false,
      enableECSManagedTags: true,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });
    // The service names the capacity provider, which CloudFormation accepts only once it is
    // associated with the cluster; that association lives under the cluster construct (CDK adds
    // it at synthesis), so depending on the cluster construct orders the service after it.
    this.service.node.addDependency(this.cluster);
    this.acknowledgeFindings(props);
  }

  private addContainer(props: GpuWorkerProps): ecs.ContainerDefinition {
    const { instance } = props;
    // Leave the host about 15% (ECS agent, Docker, the OS page cache that loading weights needs).
    const memoryReservationMiB = Math.floor(instance.memoryGiB * MIB_PER_GIB * 0.85);
    const container = this.taskDefinition.addContainer('Worker', {
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: 'inference-container/Dockerfile',
        exclude: IMAGE_EXCLUDE,
        ignoreMode: IgnoreMode.DOCKER,
        platform: Platform.LINUX_AMD64,
      }),
      gpuCount: 1,
      memoryReservationMiB,
      stopTimeout: CONTAINER_STOP_TIMEOUT,
      essential: true,
      readonlyRootFilesystem: false,
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', {
        initProcessEnabled: true,
        // vLLM's processes share tensors and the multimodal cache through /dev/shm (Docker's 64 MiB is far too small).
        sharedMemorySize: Math.min(8 * MIB_PER_GIB, Math.floor((instance.memoryGiB * MIB_PER_GIB) / 4)),
      }),
      ulimits: [{ name: ecs.UlimitName.NOFILE, softLimit: 65_536, hardLimit: 65_536 }],
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'worker', mode: ecs.AwsLogDriverMode.NON_BLOCKING }),
      environment: this.environment(props),
    });
    container.addMountPoints({ sourceVolume: 'models', containerPath: CONTAINER_MODEL_DIR, readOnly: false });
    return container;
  }

  /** The container contract of the preamble: worker, engine and entrypoint settings. */
  private environment(props: GpuWorkerProps): Record<string, string> {
    return {
      ...props.database.connectionEnvironment('untxt_worker'),
      DOCUMENTS_BUCKET: props.documents.bucket.bucketName,
      JOBS_QUEUE_URL: props.jobsQueue.queueUrl,
      EVENT_BUS_NAME: props.bus.eventBusName,
      MAX_PAGES_IN_FLIGHT: String(props.maxPagesInFlight),
      MAX_JOBS: String(WORKER_MAX_JOBS),
      MAX_PAGES: String(props.maxPages),
      OCR_ENGINE: 'qwen-vllm',
      OCR_FALLBACK: 'tesseract',
      MODEL_ID: props.modelId,
      MODEL_S3_URI: props.models.uriFor(props.modelId),
      MODEL_MANIFEST_SHA256: props.modelManifestSha256,
      MODEL_DIR: CONTAINER_MODEL_DIR,
    };
  }

  /**
   * Metric filters on the worker's structured (JSON) log lines, and alarms on them: pages read by
   * a fallback, and pages the model server failed. The metrics are in a namespace of this stack's
   * own, so two stacks in one account and region keep theirs apart.
   */
  private addAlarms(monitoring: Monitoring): void {
    const namespace = `untxt/${Stack.of(this).stackName}`;
    const countOf = (metricName: string, message: string, window: Duration) =>
      this.logGroup
        .addMetricFilter(metricName, {
          filterPattern: logs.FilterPattern.stringValue('$.message', '=', message),
          metricNamespace: namespace,
          metricName,
          metricValue: '1',
        })
        .metric({ statistic: 'Sum', period: window });
    const fallbacks = FALLBACK_PAGES_ALARM;
    monitoring.alarmOnCount(
      'GpuPagesReadByFallback',
      countOf('PagesReadByFallback', WORKER_LOG_MESSAGES.pageFallback, fallbacks.window),
      fallbacks.moreThan + 1,
      `More than ${fallbacks.moreThan} pages in ${fallbacks.window.toMinutes()} minutes were read by a fallback (text layer or CPU engine) instead of the model: check the worker's "${WORKER_LOG_MESSAGES.pageFallback}" lines for the reason`,
    );
    const failures = MODEL_SERVER_FAILURES_ALARM;
    monitoring.alarmOnCount(
      'GpuModelServerFailures',
      countOf('ModelServerFailures', WORKER_LOG_MESSAGES.modelServerFailed, failures.window),
      failures.atLeast,
      `${failures.atLeast} or more pages in ${failures.window.toMinutes()} minutes failed because the model server did not answer (down, hung or out of memory): their tasks are retried, then failed`,
    );
  }

  /**
   * The task role, least privilege: jobs (receive, delete, extend), documents (read uploads/;
   * read, write and erase results/, where page checkpoints live too), status events, the
   * database as untxt_worker, scale-in protection of this cluster's tasks, the weights.
   */
  private grantTaskRole(props: GpuWorkerProps): void {
    const role = this.taskDefinition.taskRole;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
        resources: [props.jobsQueue.queueArn],
      }),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.queueKey.keyArn] }));
    const documents = new DocumentAccess(props.documents);
    documents.grantRead(role, UPLOADS_PREFIX);
    documents.grantRead(role, RESULTS_PREFIX);
    documents.grantWrite(role, RESULTS_PREFIX);
    documents.grantErase(role, [RESULTS_PREFIX]);
    props.bus.grantPutEventsTo(role);
    props.database.grantConnect(role, 'untxt_worker');
    this.cluster.grantTaskProtection(role);
    props.models.grantRead(role);
  }

  private acknowledgeFindings(props: GpuWorkerProps): void {
    const stack = Stack.of(this);
    const clusterId = stack.getLogicalId(this.capacity.cluster.node.defaultChild as CfnElement);
    const modelsId = stack.getLogicalId(props.models.bucket.node.defaultChild as CfnElement);
    Validations.of(this.taskDefinition.taskRole).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${clusterId}>/*]`,
        reason: 'ecs:UpdateTaskProtection on tasks of this cluster only: the worker protects its own task while it holds a job; task ids exist only at run time.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${modelsId}.Arn>/*]`,
        reason: 'GetObject on the models bucket, which holds model weights only (no PHI); the file names are the model\'s own, pinned by the manifest.',
      },
      {
        id: 'HIPAA.Security-IAMNoInlinePolicy',
        reason: 'The worker task\'s role: its one policy is generated from resource grants, attached to this role alone and scoped to the named queue, bucket prefixes, bus, database user, cluster and keys.',
      },
    );
    const executionRole = this.taskDefinition.executionRole;
    if (executionRole) {
      Validations.of(executionRole).acknowledge(
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: 'ecr:GetAuthorizationToken, which IAM cannot scope to a repository; image reads are limited to the asset repository.',
        },
        {
          id: 'HIPAA.Security-IAMNoInlinePolicy',
          reason: 'The worker task\'s execution role: CDK\'s generated policy (pull this image, write this log group), attached to this role alone.',
        },
      );
    }
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds names and settings only (endpoint, bucket, queue URL, model id, the weights\' public SHA-256); no secret: the database is reached with IAM tokens from the task role.',
    });
  }
}
