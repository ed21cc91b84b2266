import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

export interface ShortLivedTableProps {
  readonly partitionKey: string;
  /** Epoch seconds after which DynamoDB deletes an item. */
  readonly ttlAttribute: string;
  readonly key: kms.IKey;
  /** Why nothing in it needs a backup plan beyond point-in-time recovery. */
  readonly noBackupReason: string;
}

/**
 * The WebSocket side's tables (tickets, connections, notified statuses): items that expire by TTL
 * within hours, ids and states only. On demand, a customer-managed key, point-in-time recovery,
 * and destroyed with the stack (there is nothing worth keeping).
 */
export function shortLivedTable(scope: Construct, props: ShortLivedTableProps): dynamodb.Table {
  const table = new dynamodb.Table(scope, 'Table', {
    partitionKey: { name: props.partitionKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: props.key,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: props.ttlAttribute,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(table).acknowledge({ id: 'HIPAA.Security-DynamoDBInBackupPlan', reason: props.noBackupReason });
  return table;
}
