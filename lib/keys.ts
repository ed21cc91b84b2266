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
 * The customer-managed keys. Five keys, each with automatic yearly rotation:
 * - `data`: documents bucket, Aurora storage and master secret (PHI lives under it).
 * - `realtime`: the WebSocket tables (tickets, connections, notified statuses). Separate because
 *   the WebSocket functions run outside the VPC: none of them may ever hold a grant on `data`.
 * - `queues`: SQS. Separate because S3 must use the queue key to deliver notifications, and one
 *   key for bucket and queue forms a dependency cycle (key policy → bucket → key).
 * - `logs`: CloudWatch log groups. Separate so that granting the CloudWatch Logs service use of a
 *   key never lets it decrypt documents.
 * - `events`: the EventBridge bus and its archive. Separate for the same reason: EventBridge is let
 *   in (for this bus only), and must never be able to decrypt documents.
 */
export class Keys extends Construct {
  readonly data: kms.IKey;
  readonly realtime: kms.IKey;
  readonly queues: kms.IKey;
  readonly logs: kms.IKey;
  readonly events: kms.IKey;

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
  }

  private newKey(id: string, description: string, removalPolicy: RemovalPolicy): kms.Key {
    return new kms.Key(this, id, {
      description,
      enableKeyRotation: true,
      // The longest window: a scheduled deletion of a key that still protects data can be cancelled.
      pendingWindow: Duration.days(30),
      removalPolicy,
    });
  }
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
