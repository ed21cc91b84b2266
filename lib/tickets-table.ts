import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { grantTableKey } from './keys';
import { shortLivedTable } from './short-lived-table';

export interface TicketsTableProps {
  /** The realtime key: the WebSocket authorizer, outside the VPC, redeems tickets. */
  readonly key: kms.IKey;
}

/**
 * Single-use WebSocket tickets (DESIGN "Events and notifications"): one item per ticket, keyed by
 * the ticket's SHA-256 (the ticket itself is never stored), with the user id and an expiry that
 * DynamoDB's TTL removes. The schema matches src/realtime/tickets/dynamodb-ticket-store.ts.
 */
export class TicketsTable extends Construct {
  readonly table: dynamodb.ITable;
  readonly partitionKey = 'ticketHash';
  /** Epoch seconds; the store also checks it, since TTL deletes lazily. */
  readonly ttlAttribute = 'expiresAt';

  constructor(scope: Construct, id: string, props: TicketsTableProps) {
    super(scope, id);
    this.table = shortLivedTable(this, {
      partitionKey: this.partitionKey,
      ttlAttribute: this.ttlAttribute,
      key: props.key,
      noBackupReason:
        'Holds only hashes of 60-second single-use tickets and user ids; a lost ticket is simply requested again, so there is nothing to restore beyond point-in-time recovery, which is on.',
    });
  }

  /** Issuing a ticket: a conditional put, nothing else (no read, no update, no scan). */
  grantIssue(grantee: iam.IGrantable): void {
    this.table.grant(grantee, 'dynamodb:PutItem');
    grantTableKey(this.table, grantee, 'write');
  }

  /**
   * Using a ticket up (the WebSocket authorizer): a conditional delete returning the old item
   * (ReturnValues ALL_OLD needs no read permission beyond DeleteItem).
   */
  grantRedeem(grantee: iam.IGrantable): void {
    this.table.grant(grantee, 'dynamodb:DeleteItem');
    grantTableKey(this.table, grantee, 'read');
  }
}
