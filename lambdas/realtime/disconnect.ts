import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type { ConnectionStore } from '../../src/realtime/connection-store';
import { disconnect } from '../../src/realtime/connections';
import { realtimeRuntime } from './runtime';
import { connectionEventSchema, OK } from './websocket-event';

/** `$disconnect`: forgets the connection. */
export function disconnectHandler(deps: () => { connections: ConnectionStore }) {
  return async (event: unknown): Promise<APIGatewayProxyResultV2> => {
    const { requestContext } = connectionEventSchema.parse(event);
    await disconnect(requestContext.connectionId, deps());
    return OK;
  };
}

const runtime = realtimeRuntime('untxt-ws-disconnect');
export const handler = disconnectHandler(() => ({ connections: runtime.connections() }));
