import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConnectionStore } from '../../../src/realtime/connection-store';
import { DynamoDbConnectionStore } from '../../../src/realtime/dynamodb-connection-store';

/** CONNECTIONS_TABLE → the WebSocket connections table (query by user, delete by id). */
export const dynamoDbConnections = (tableName: string): ConnectionStore =>
  new DynamoDbConnectionStore({ client: DynamoDBDocumentClient.from(new DynamoDBClient({})), tableName });
