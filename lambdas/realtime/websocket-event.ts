import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { z } from 'zod';

/** What the WebSocket route handlers read from API Gateway's event; the rest is ignored. */
export const connectionEventSchema = z.object({
  requestContext: z.object({ connectionId: z.string().min(1) }),
});

export const connectEventSchema = z.object({
  requestContext: z.object({
    connectionId: z.string().min(1),
    // Set by the $connect authorizer's context; never taken from the client.
    authorizer: z.object({ userId: z.uuid() }),
  }),
});

export const OK: APIGatewayProxyResultV2 = { statusCode: 200 };
