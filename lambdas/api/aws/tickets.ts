import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock } from '../../../src/adapters/clock';
import type { TicketStore } from '../../../src/api/deps';
import { DynamoDbTicketStore } from '../../../src/realtime/tickets/dynamodb-ticket-store';

/** TICKETS_TABLE → single-use WebSocket tickets in DynamoDB. */
export const dynamoDbTickets = (tableName: string): TicketStore =>
  new DynamoDbTicketStore({ client: DynamoDBDocumentClient.from(new DynamoDBClient({})), tableName, clock: systemClock });
