import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { authorizeBearer, authorizerContext, stageWideResource, type AuthorizerDeps } from '../../src/auth/authorizer';

/** API Gateway answers 401 (the UNAUTHORIZED gateway response) when a TOKEN authorizer throws exactly this. */
export const UNAUTHORIZED = 'Unauthorized';

/**
 * TOKEN authorizer (identity source: the Authorization header; API Gateway caches the result
 * per token). A valid access token gets an Allow for every method and path of the stage, since
 * the cached policy is reused for the token's other calls; its principal travels to the
 * handlers as context. Anything else is 401.
 */
export async function authorizeToken(event: APIGatewayTokenAuthorizerEvent, deps: AuthorizerDeps): Promise<APIGatewayAuthorizerResult> {
  const principal = await authorizeBearer(event.authorizationToken, deps);
  if (!principal) throw new Error(UNAUTHORIZED);
  return {
    principalId: principal.userId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stageWideResource(event.methodArn) }],
    },
    context: authorizerContext(principal),
  };
}
