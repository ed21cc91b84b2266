import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { aws_s3 as s3Refs } from 'aws-cdk-lib/interfaces';
import { Construct } from 'constructs';
import { UPLOADS_PREFIX } from './storage';

/** DESIGN "Intake": the intake function's timeout. */
export const INTAKE_FUNCTION_TIMEOUT = Duration.seconds(120);

/**
 * A job message stays hidden this long after a receive. The worker extends it with heartbeats
 * while it holds the task's lease, so this only bounds how long a job waits after a worker dies
 * without releasing it (the lease expiring lets the next claim take over).
 */
export const JOBS_VISIBILITY_TIMEOUT = Duration.minutes(5);

export interface PipelineQueuesProps {
  readonly key: kms.IKey;
  /** ObjectCreated events under uploads/ of this bucket go to the intake queue. */
  readonly uploadsBucket: s3.IBucket;
  readonly intakeMaxReceiveCount: number;
  readonly jobsMaxReceiveCount: number;
  readonly retentionDays: number;
  readonly deadLetterRetentionDays: number;
}

/**
 * The intake queue (S3 upload notifications → intake function) and the jobs queue (intake → GPU
 * worker), each with a dead-letter queue, all encrypted with the queue key and TLS-only.
 */
export class PipelineQueues extends Construct {
  readonly intake: sqs.IQueue;
  readonly intakeDeadLetter: sqs.IQueue;
  readonly jobs: sqs.IQueue;
  readonly jobsDeadLetter: sqs.IQueue;

  constructor(scope: Construct, id: string, props: PipelineQueuesProps) {
    super(scope, id);
    this.intakeDeadLetter = this.newQueue('IntakeDeadLetter', props, { retentionPeriod: Duration.days(props.deadLetterRetentionDays) });
    this.intake = this.newQueue('Intake', props, {
      retentionPeriod: Duration.days(props.retentionDays),
      // AWS's guidance for a Lambda event source: at least six times the function's timeout, so
      // retries of a throttled batch do not make the message visible again while it is being handled.
      visibilityTimeout: Duration.seconds(INTAKE_FUNCTION_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.intakeDeadLetter, maxReceiveCount: props.intakeMaxReceiveCount },
    });
    this.jobsDeadLetter = this.newQueue('JobsDeadLetter', props, { retentionPeriod: Duration.days(props.deadLetterRetentionDays) });
    this.jobs = this.newQueue('Jobs', props, {
      retentionPeriod: Duration.days(props.retentionDays),
      visibilityTimeout: JOBS_VISIBILITY_TIMEOUT,
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.jobsDeadLetter, maxReceiveCount: props.jobsMaxReceiveCount },
    });
    props.uploadsBucket.addEventNotification(
      s3.EventType.OBJECT_CREATED,
      new ScopedQueueDestination(this.intake, props.key),
      { prefix: UPLOADS_PREFIX },
    );
    for (const deadLetter of [this.intakeDeadLetter, this.jobsDeadLetter]) {
      Validations.of(deadLetter).acknowledge({
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This queue is itself a dead-letter queue; a further DLQ behind it would only move failed messages again.',
      });
    }
    acknowledgeNotificationHandler(props.uploadsBucket);
  }

  private newQueue(id: string, props: PipelineQueuesProps, queueProps: sqs.QueueProps): sqs.Queue {
    return encryptedQueue(this, id, props.key, queueProps);
  }
}

/** A queue encrypted with `key` and TLS-only; `props` adds retention, redrive and timeouts. */
export function encryptedQueue(scope: Construct, id: string, key: kms.IKey, props: sqs.QueueProps = {}): sqs.Queue {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    // Reuse a data key for 5 minutes (the default) to keep KMS calls, and their cost, bounded.
    dataKeyReuse: Duration.minutes(5),
    enforceSSL: true,
    ...props,
  });
}

/**
 * SendMessage on an encrypted queue, and its key for SQS to encrypt the message with: exactly
 * what a producer needs (grantSendMessages would add Encrypt and ReEncrypt, which SQS never uses).
 */
export function grantSendToEncryptedQueue(grantee: iam.IGrantable, queue: sqs.IQueue, key: kms.IKey): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn] }),
  );
}

/**
 * Delivers a bucket's notifications to a KMS-encrypted queue, letting S3 in for that one bucket
 * of this account only. Replaces `s3n.SqsDestination`, which also adds an unconditioned key-policy
 * statement for `s3.amazonaws.com` (any bucket of any account could then use the key) and, through
 * `grantSendMessages`, Encrypt and ReEncrypt that notifications never need.
 */
export class ScopedQueueDestination implements s3.IBucketNotificationDestination {
  constructor(
    private readonly queue: sqs.IQueue,
    private readonly key: kms.IKey,
  ) {}

  bind(scope: Construct, bucket: s3Refs.IBucketRef): s3.BucketNotificationDestinationConfig {
    const principal = new iam.ServicePrincipal('s3.amazonaws.com');
    const conditions = {
      ArnLike: { 'aws:SourceArn': bucket.bucketRef.bucketArn },
      StringEquals: { 'aws:SourceAccount': Stack.of(scope).account },
    };
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3NotificationsFromTheBucket',
        principals: [principal],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions,
      }),
    );
    // S3 encrypts each message with a data key of its own: GenerateDataKey to make one, Decrypt for
    // SQS's reuse of it. Nothing else.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3NotificationsFromTheBucket',
        principals: [principal],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions,
      }),
    );
    // The queue construct holds its policy, so S3 validates the destination after the policy exists.
    return { arn: this.queue.queueArn, type: s3.BucketNotificationDestinationType.QUEUE, dependencies: [this.queue] };
  }
}

/**
 * CDK writes a bucket's notification configuration with a deploy-time function (a stack-level
 * singleton) and a policy on the bucket's `Notifications` child; both exist once a notification
 * has been added.
 */
function acknowledgeNotificationHandler(bucket: s3.IBucket): void {
  const policyOwner = bucket.node.tryFindChild('Notifications');
  if (policyOwner) {
    Validations.of(policyOwner).acknowledge({
      id: 'HIPAA.Security-IAMNoInlinePolicy',
      reason:
        "CDK's bucket-notification handler policy: only s3:PutBucketNotification on this bucket, attached to the handler's role alone.",
    });
  }
  const handlers = Stack.of(bucket).node.children.filter((c) => c.node.id.startsWith('BucketNotificationsHandler'));
  for (const handler of handlers) {
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's deploy-time handler that sets the bucket's notification configuration; the AWS managed basic execution policy lets it write only its own CloudWatch logs, and it never reads objects.",
    });
  }
}
