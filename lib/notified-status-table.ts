import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { grantTableKey } from './keys';
import { shortLivedTable } from './short-lived-table';

export interface NotifiedStatusTableProps {
  /** The realtime key: the notifier runs outside the VPC. */
  readonly key: kms.IKey;
}

/**
 * The notifier's seq rule (DESIGN "Events and notifications"): one item per task holding the last
 * status passed on, written only by a conditional update so that concurrent notifier instances
 * agree; removed by TTL a day after the task's last status. The schema matches
 * src/realtime/dynamodb-notified-status-store.ts.
 */
export class NotifiedStatusTable extends Construct {
  readonly table: dynamodb.ITable;
  readonly partitionKey = 'taskId';
  /** Epoch seconds after which DynamoDB deletes the item. */
  readonly ttlAttribute = 'expiresAt';

  constructor(scope: Construct, id: string, props: NotifiedStatusTableProps) {
    super(scope, id);
    this.table = shortLivedTable(this, {
      partitionKey: this.partitionKey,
      ttlAttribute: this.ttlAttribute,
      key: props.key,
      noBackupReason:
        'Holds only the last status sequence number passed on per task, for a day; losing it at worst lets a duplicate status message through, which clients drop by the same seq rule, so there is nothing to restore beyond point-in-time recovery, which is on.',
    });
  }

  /** The notifier: conditional updates of an item by its key (no read, scan, query or delete). */
  grantClaim(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [this.table.tableArn] }));
    grantTableKey(this.table, grantee, 'write');
  }
}
