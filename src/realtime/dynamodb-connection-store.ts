import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { Connection, ConnectionStore } from './connection-store';

/**
 * The connections table (lib/connections-table.ts): partition key `connectionId`, `userId` with
 * the KEYS_ONLY index `byUserId`, and `expiresAt` in epoch seconds as the TTL attribute.
 */
export const CONNECTION_TABLE_SCHEMA = {
  partitionKey: 'connectionId',
  userIndexName: 'byUserId',
  userIdAttribute: 'userId',
  ttlAttribute: 'expiresAt',
} as const;

const indexItemSchema = z.object({ connectionId: z.string().min(1) });

export interface DynamoDbConnectionStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

export class DynamoDbConnectionStore implements ConnectionStore {
  constructor(private readonly options: DynamoDbConnectionStoreOptions) {}

  async put(connection: Connection): Promise<void> {
    await this.options.client.send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: {
          connectionId: connection.connectionId,
          userId: connection.userId,
          expiresAt: Math.ceil(connection.expiresAt.getTime() / 1000),
        },
      }),
    );
  }

  async delete(connectionId: string): Promise<void> {
    await this.options.client.send(new DeleteCommand({ TableName: this.options.tableName, Key: { connectionId } }));
  }

  /**
   * Pages through the index: a user rarely has more than a few connections, but a query answers
   * at most 1 MB at a time and a page must never be silently dropped. The index is eventually
   * consistent: a connection made a moment ago may miss one event; the client's reconnect path
   * (GET the task over HTTP) covers that.
   */
  async listByUser(userId: string): Promise<string[]> {
    const ids: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          IndexName: CONNECTION_TABLE_SCHEMA.userIndexName,
          KeyConditionExpression: '#user = :user',
          ExpressionAttributeNames: { '#user': CONNECTION_TABLE_SCHEMA.userIdAttribute },
          ExpressionAttributeValues: { ':user': userId },
          ProjectionExpression: CONNECTION_TABLE_SCHEMA.partitionKey,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const parsed = indexItemSchema.safeParse(item);
        if (parsed.success) ids.push(parsed.data.connectionId);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return ids;
  }
}
