import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock } from '../../src/adapters/clock';
import type { Clock } from '../../src/ports/clock';
import { ApiGatewayConnectionSender } from '../../src/realtime/api-gateway-sender';
import type { ConnectionStore } from '../../src/realtime/connection-store';
import type { ConnectionSender } from '../../src/realtime/connection-sender';
import { DynamoDbConnectionStore } from '../../src/realtime/dynamodb-connection-store';
import { DynamoDbNotifiedStatusStore } from '../../src/realtime/dynamodb-notified-status-store';
import type { NotifiedStatusStore } from '../../src/realtime/notified-status';
import { RecentDeliveries } from '../../src/realtime/notifier';
import { DynamoDbTicketStore } from '../../src/realtime/tickets/dynamodb-ticket-store';
import type { TicketStore } from '../../src/realtime/tickets/ticket-store';
import { once, required, type Env } from '../shared/env';

/**
 * What the WebSocket functions share, from the environment. They run outside the VPC and carry
 * ids and states only (DESIGN "Where things run"). Nothing here touches PostgreSQL or S3, so the
 * bundles stay small and cold starts short.
 *
 * | variable | who |
 * | --- | --- |
 * | CONNECTIONS_TABLE | connect, disconnect, notifier |
 * | TICKETS_TABLE | ws-authorizer |
 * | WEBSOCKET_CALLBACK_URL | notifier: the stage's `https://…/{stage}` management endpoint |
 * | NOTIFIED_STATUS_TABLE | notifier: the last status passed on per task (its seq rule) |
 */
export interface RealtimeRuntime {
  logger: Logger;
  clock: Clock;
  connections: () => ConnectionStore;
  tickets: () => TicketStore;
  sender: () => ConnectionSender;
  notified: () => NotifiedStatusStore;
  /** One per instance: remembers deliveries across retries that land on it. */
  delivered: RecentDeliveries;
}

export function realtimeRuntime(serviceName: string, env: Env = process.env): RealtimeRuntime {
  const documentClient = once(() => DynamoDBDocumentClient.from(new DynamoDBClient({})));
  return {
    logger: new Logger({ serviceName }),
    clock: systemClock,
    connections: once(() => new DynamoDbConnectionStore({ client: documentClient(), tableName: required(env, 'CONNECTIONS_TABLE') })),
    tickets: once(() => new DynamoDbTicketStore({ client: documentClient(), tableName: required(env, 'TICKETS_TABLE'), clock: systemClock })),
    notified: once(() => new DynamoDbNotifiedStatusStore({ client: documentClient(), tableName: required(env, 'NOTIFIED_STATUS_TABLE'), clock: systemClock })),
    sender: once(() => ApiGatewayConnectionSender.forEndpoint(required(env, 'WEBSOCKET_CALLBACK_URL'))),
    delivered: new RecentDeliveries(),
  };
}
