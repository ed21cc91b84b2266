import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { grantTableKey } from './keys';
import { shortLivedTable } from './short-lived-table';

export interface ConnectionsTableProps {
  /** The realtime key: the WebSocket functions run outside the VPC. */
  readonly key: kms.IKey;
}

/**
 * WebSocket connections: one item per connection (partition key `connectionId`), found per user
 * through the `byUserId` index, removed by TTL near API Gateway's two-hour connection limit.
 */
export class ConnectionsTable extends Construct {
  readonly table: dynamodb.ITable;
  readonly partitionKey = 'connectionId';
  readonly userIndexName = 'byUserId';
  readonly userIdAttribute = 'userId';
  /** Epoch seconds after which DynamoDB deletes the item. */
  readonly ttlAttribute = 'expiresAt';

  constructor(scope: Construct, id: string, props: ConnectionsTableProps) {
    super(scope, id);
    const table = shortLivedTable(this, {
      partitionKey: this.partitionKey,
      ttlAttribute: this.ttlAttribute,
      key: props.key,
      noBackupReason:
        'Holds only WebSocket connection ids that expire within two hours; clients reconnect after a loss, so there is nothing worth restoring beyond point-in-time recovery, which is on.',
    });
    table.addGlobalSecondaryIndex({
      indexName: this.userIndexName,
      partitionKey: { name: this.userIdAttribute, type: dynamodb.AttributeType.STRING },
      // The notifier needs only the connection ids of a user.
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    this.table = table;
  }

  /** `$connect`: puts one item (no read, update or scan). */
  grantConnect(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [this.table.tableArn] }));
    grantTableKey(this.table, grantee, 'write');
  }

  /** `$disconnect`: deletes one item by its key. */
  grantDisconnect(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:DeleteItem'], resources: [this.table.tableArn] }));
    grantTableKey(this.table, grantee, 'read');
  }

  /** The notifier: queries the user index (and nothing else of the table), deletes gone connections. */
  grantNotify(grantee: iam.IGrantable): void {
    this.grantQueryByUser(grantee);
    this.grantDisconnect(grantee);
  }

  /**
   * Disabling a user (the admin API route): finds the user's connections through the index and
   * deletes them, so that user's sockets hear nothing more. The same access as the notifier's,
   * minus posting; named apart because the caller and its reason differ.
   */
  grantRemoveUserConnections(grantee: iam.IGrantable): void {
    this.grantQueryByUser(grantee);
    this.grantDisconnect(grantee);
  }

  private grantQueryByUser(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${this.table.tableArn}/index/${this.userIndexName}`] }),
    );
  }
}
