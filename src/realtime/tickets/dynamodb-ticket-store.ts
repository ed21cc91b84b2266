import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { Clock } from '../../ports/clock';
import { isWellFormedTicket, mintTicket, ticketHash, type IssuedTicket, type TicketStore } from './ticket-store';

/**
 * The tickets table: partition key `ticketHash` (string, SHA-256 hex of the ticket), `userId`,
 * and `expiresAt` in epoch seconds, which is also the table's TTL attribute. TTL deletion runs
 * late (up to days), so expiry is checked at use, in the delete's condition.
 */
export const TICKET_TABLE_SCHEMA = { partitionKey: 'ticketHash', ttlAttribute: 'expiresAt' } as const;

const storedTicketSchema = z.object({ userId: z.uuid() });

export interface DynamoDbTicketStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock: Clock;
}

export class DynamoDbTicketStore implements TicketStore {
  constructor(private readonly options: DynamoDbTicketStoreOptions) {}

  async issue(userId: string): Promise<IssuedTicket> {
    const { issued, record } = mintTicket(userId, this.options.clock.now());
    await this.options.client.send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: { ticketHash: record.ticketHash, userId: record.userId, expiresAt: epochSeconds(record.expiresAt) },
        // 256 random bits do not collide; the condition makes sure a bug could never overwrite one.
        ConditionExpression: 'attribute_not_exists(ticketHash)',
      }),
    );
    return issued;
  }

  /**
   * Single use by a conditional delete: of two handshakes racing with the same ticket, exactly
   * one gets the old item back. An expired ticket fails the condition and stays for TTL to remove.
   */
  async consume(ticket: string): Promise<{ userId: string } | null> {
    if (!isWellFormedTicket(ticket)) return null;
    try {
      const output = await this.options.client.send(
        new DeleteCommand({
          TableName: this.options.tableName,
          Key: { ticketHash: ticketHash(ticket) },
          ConditionExpression: 'attribute_exists(ticketHash) AND expiresAt > :now',
          ExpressionAttributeValues: { ':now': epochSeconds(this.options.clock.now()) },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const parsed = storedTicketSchema.safeParse(output.Attributes);
      return parsed.success ? { userId: parsed.data.userId } : null;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: unknown }).name === 'ConditionalCheckFailedException') return null;
      throw error;
    }
  }
}

/**
 * Epoch seconds, rounded up: an item stored with `expiresAt` = ceil(t) is refused from
 * ceil(t) on, never more than a second before its time.
 */
function epochSeconds(at: Date): number {
  return Math.ceil(at.getTime() / 1000);
}
