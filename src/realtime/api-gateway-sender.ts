import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { RetryableSendError, type ConnectionSender } from './connection-sender';

/** Error names the management API uses for load it will take again shortly. */
const THROTTLING = new Set(['ThrottlingException', 'TooManyRequestsException', 'LimitExceededException']);
/** Transport failures worth another try (no answer came back). */
const TRANSIENT_NETWORK = new Set(['TimeoutError', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * Posts through API Gateway's management API. The client must be built for the stage's HTTPS
 * callback endpoint (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`), and the SDK's
 * own retries are off: `sendWithRetry` does them, with a budget the notifier controls.
 */
export class ApiGatewayConnectionSender implements ConnectionSender {
  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  static forEndpoint(endpoint: string): ApiGatewayConnectionSender {
    return new ApiGatewayConnectionSender(new ApiGatewayManagementApiClient({ endpoint, maxAttempts: 1 }));
  }

  async send(connectionId: string, frame: string): Promise<'sent' | 'gone'> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(frame, 'utf8') }));
      return 'sent';
    } catch (error) {
      const name = (error as { name?: unknown }).name;
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (error instanceof GoneException || name === 'GoneException' || status === 410) return 'gone';
      const code = (error as { code?: unknown }).code;
      const transient =
        (typeof name === 'string' && (THROTTLING.has(name) || TRANSIENT_NETWORK.has(name))) ||
        (typeof code === 'string' && TRANSIENT_NETWORK.has(code)) ||
        status === 429 ||
        (status !== undefined && status >= 500);
      if (transient) {
        throw new RetryableSendError(`PostToConnection answered ${String(name ?? status)}`, { cause: error });
      }
      throw error;
    }
  }
}
