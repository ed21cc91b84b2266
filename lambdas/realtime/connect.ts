import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type { Clock } from '../../src/ports/clock';
import type { ConnectionStore } from '../../src/realtime/connection-store';
import { connect } from '../../src/realtime/connections';
import { realtimeRuntime } from './runtime';
import { connectEventSchema, OK } from './websocket-event';

/** `$connect` (behind the ticket authorizer): stores the connection for the authorizer's user. */
export function connectHandler(deps: () => { connections: ConnectionStore; clock: Clock }) {
  return async (event: unknown): Promise<APIGatewayProxyResultV2> => {
    const { requestContext } = connectEventSchema.parse(event);
    await connect({ connectionId: requestContext.connectionId, userId: requestContext.authorizer.userId }, deps());
    return OK;
  };
}

const runtime = realtimeRuntime('untxt-ws-connect');
export const handler = connectHandler(() => ({ connections: runtime.connections(), clock: runtime.clock }));
