import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface KeysProps {
  /** Keys must outlive the data they protect: retain them whenever the data is retained. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The customer-managed keys. Six keys, each with automatic yearly rotation:
 * - `data`: documents bucket, Aurora storage and master secret (PHI lives under it).
 * - `realtime`: the WebSocket tables (tickets, connections, notified statuses). Separate because
 *   the WebSocket functions run outside the VPC: none of them may ever hold a grant on `data`.
 * - `queues`: SQS. Separate because S3 must use the queue key to deliver notifications, and one
 *   key for bucket and queue forms a dependency cycle (key policy → bucket → key).
 * - `logs`: CloudWatch log groups. Separate so that granting the CloudWatch Logs service use of a
 *   key never lets it decrypt documents.
 * - `events`: the EventBridge bus and its archive. Separate for the same reason: EventBridge is let
 *   in (for this bus only), and must never be able to decrypt documents.
 * - `gpuVolumes`: the GPU instances' root volumes (image layers, weights, page temp files).
 *   Separate because EC2 Auto Scaling's service-linked role must be let in to launch instances
 *   with them, and that role must never be able to decrypt documents.
 */
export class Keys extends Construct {
  readonly data: kms.IKey;
  readonly realtime: kms.IKey;
  readonly queues: kms.IKey;
  readonly logs: kms.IKey;
  readonly events: kms.IKey;
  readonly gpuVolumes: kms.IKey;

  constructor(scope: Construct, id: string, props: KeysProps) {
    super(scope, id);
    this.data = this.newKey('Data', 'untxt documents, database, secrets and tables', props.removalPolicy);
    this.realtime = this.newKey('Realtime', 'untxt WebSocket tickets, connections and notified statuses', props.removalPolicy);
    this.queues = this.newKey('Queues', 'untxt SQS queues', props.removalPolicy);
    const logsKey = this.newKey('Logs', 'untxt CloudWatch log groups', props.removalPolicy);
    allowCloudWatchLogs(logsKey);
    this.logs = logsKey;
    // EventBridge's key-policy statements are added by the bus and archive that use the key.
    this.events = this.newKey('Events', 'untxt EventBridge bus and archive', props.removalPolicy);
    // An alias, so the EC2 console and CloudTrail name the key of a volume that failed to launch.
    const gpuVolumesKey = this.newKey('GpuVolumes', 'untxt GPU instance root volumes', props.removalPolicy, `alias/${Stack.of(this).stackName}/gpu-volumes`);
    allowAutoScalingServiceLinkedRole(gpuVolumesKey);
    this.gpuVolumes = gpuVolumesKey;
  }

  private newKey(id: string, description: string, removalPolicy: RemovalPolicy, alias?: string): kms.Key {
    return newCustomerKey(this, id, description, removalPolicy, alias);
  }
}

/** A customer-managed key with the project's settings: yearly rotation, the longest deletion window. */
export function newCustomerKey(scope: Construct, id: string, description: string, removalPolicy: RemovalPolicy, alias?: string): kms.Key {
  return new kms.Key(scope, id, {
    description,
    ...(alias === undefined ? {} : { alias }),
    enableKeyRotation: true,
    // The longest window: a scheduled deletion of a key that still protects data can be cancelled.
    pendingWindow: Duration.days(30),
    removalPolicy,
  });
}

/** CloudWatch Logs encrypts with a customer key only when the key policy lets the regional service in. */
function allowCloudWatchLogs(key: kms.Key): void {
  const stack = Stack.of(key);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchLogsForThisAccountsLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
}

/**
 * EC2 Auto Scaling launches instances with volumes encrypted under a customer-managed key only if
 * its service-linked role may use the key: AWS's documented key policy ("Required AWS KMS key
 * policy for use with encrypted volumes", EC2 Auto Scaling User Guide), the key operations and
 * CreateGrant for AWS resources (the grant EC2 uses to attach the volume), no further condition.
 *
 * The role is named by `aws:PrincipalArn` under an AnyPrincipal rather than as the Principal: KMS
 * refuses a key policy whose Principal is a role that does not exist, and the service-linked role
 * is created only on an account's first use of Auto Scaling, which may be this stack's own group,
 * created after the key. The condition matches exactly that one role of this account.
 */
function allowAutoScalingServiceLinkedRole(key: kms.Key): void {
  const stack = Stack.of(key);
  const theServiceLinkedRole = {
    ArnEquals: {
      'aws:PrincipalArn': `arn:${stack.partition}:iam::${stack.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    },
  };
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AutoScalingServiceLinkedRoleUse',
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
      resources: ['*'],
      conditions: theServiceLinkedRole,
    }),
  );
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AutoScalingServiceLinkedRoleGrants',
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { ...theServiceLinkedRole, Bool: { 'kms:GrantIsForAWSResource': true } },
    }),
  );
}

/**
 * Use of a DynamoDB table's customer-managed key, only as DynamoDB's caller on this account's
 * behalf (`kms:ViaService`, `kms:CallerAccount`): the grantee can never call KMS with it directly.
 * `Decrypt` for every access; `GenerateDataKey` for writers too.
 */
export function grantTableKey(table: dynamodb.ITable, grantee: iam.IGrantable, access: 'read' | 'write'): void {
  const key = table.encryptionKey;
  if (!key) throw new Error(`${table.node.path} has no customer-managed key`);
  const stack = Stack.of(table);
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: access === 'write' ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
      resources: [key.keyArn],
      conditions: {
        StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com`, 'kms:CallerAccount': stack.account },
      },
    }),
  );
}
