import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../ports/clock';
import { NOTIFIED_STATUS_TTL_SECONDS, type NotifiedStatus, type NotifiedStatusStore } from './notified-status';

/**
 * The notified-status table (lib/notified-status-table.ts): one item per task, partition key
 * `taskId`, the last status passed on (`seq`, `status`, `pagesDone`), whether it reached every
 * connection (`delivered`), and `expiresAt` in epoch seconds as the TTL attribute.
 */
export const NOTIFIED_STATUS_TABLE_SCHEMA = {
  partitionKey: 'taskId',
  ttlAttribute: 'expiresAt',
} as const;

const NAMES = { '#seq': 'seq', '#status': 'status', '#pagesDone': 'pagesDone', '#delivered': 'delivered' };

/**
 * `mayPassOn` (src/realtime/notified-status.ts) as one conditional write, so that concurrent
 * notifier instances agree on each task's latest status without a read: the item is new, or its
 * seq is lower, or the seq is equal and pagesDone lower or the status different, or it is the same
 * status not yet confirmed delivered.
 */
export const CLAIM_CONDITION = [
  'attribute_not_exists(#seq)',
  '#seq < :seq',
  '(#seq = :seq AND (#pagesDone < :pagesDone OR #status <> :status OR (#pagesDone = :pagesDone AND #delivered = :false)))',
].join(' OR ');

export interface DynamoDbNotifiedStatusStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock: Clock;
}

export class DynamoDbNotifiedStatusStore implements NotifiedStatusStore {
  constructor(private readonly options: DynamoDbNotifiedStatusStoreOptions) {}

  async claim(taskId: string, next: NotifiedStatus): Promise<boolean> {
    const expiresAt = Math.ceil(this.options.clock.now().getTime() / 1000) + NOTIFIED_STATUS_TTL_SECONDS;
    return this.conditionally(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { [NOTIFIED_STATUS_TABLE_SCHEMA.partitionKey]: taskId },
        UpdateExpression: 'SET #seq = :seq, #status = :status, #pagesDone = :pagesDone, #delivered = :false, #expiresAt = :expiresAt',
        ConditionExpression: CLAIM_CONDITION,
        ExpressionAttributeNames: { ...NAMES, '#expiresAt': NOTIFIED_STATUS_TABLE_SCHEMA.ttlAttribute },
        ExpressionAttributeValues: { ':seq': next.seq, ':status': next.status, ':pagesDone': next.pagesDone, ':false': false, ':expiresAt': expiresAt },
      }),
    );
  }

  async confirm(taskId: string, next: NotifiedStatus): Promise<void> {
    await this.conditionally(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { [NOTIFIED_STATUS_TABLE_SCHEMA.partitionKey]: taskId },
        UpdateExpression: 'SET #delivered = :true',
        // Only the status claimed: a newer one claimed since stays unconfirmed until it is delivered.
        ConditionExpression: '#seq = :seq AND #pagesDone = :pagesDone AND #status = :status',
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: { ':seq': next.seq, ':status': next.status, ':pagesDone': next.pagesDone, ':true': true },
      }),
    );
  }

  /** True when the write was applied, false when its condition did not hold. */
  private async conditionally(command: UpdateCommand): Promise<boolean> {
    try {
      await this.options.client.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: unknown })?.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
