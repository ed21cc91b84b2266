import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { TicketStore } from '../../src/realtime/tickets/ticket-store';
import { authorizeConnect } from '../../src/realtime/ws-authorizer';
import { realtimeRuntime } from './runtime';

/**
 * The `$connect` REQUEST authorizer: uses up the `ticket` from the query string (identity source
 * `route.request.querystring.ticket`, so API Gateway answers 401 itself when there is none). A
 * refused ticket throws "Unauthorized", API Gateway's signal for 401: the handshake fails and the
 * connection never opens. Results are not cached (a ticket is single use).
 */
export function wsAuthorizerHandler(deps: () => { tickets: TicketStore }) {
  return async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const decision = await authorizeConnect(event.queryStringParameters?.ticket, deps());
    if (!decision) throw new Error('Unauthorized');
    return {
      principalId: decision.userId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
      },
      // Reaches the $connect integration as requestContext.authorizer.userId.
      context: { userId: decision.userId },
    };
  };
}

const runtime = realtimeRuntime('untxt-ws-authorizer');
export const handler = wsAuthorizerHandler(() => ({ tickets: runtime.tickets() }));
