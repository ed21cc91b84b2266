import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { pong } from '../../src/realtime/connections';

/**
 * The `ping` route (`{"action":"ping"}`): answers `{"type":"pong"}` through the route's response.
 * Keeps a connection inside API Gateway's 10-minute idle timeout and tells a client it is alive.
 */
export async function handler(): Promise<APIGatewayProxyResultV2> {
  return { statusCode: 200, body: pong() };
}
