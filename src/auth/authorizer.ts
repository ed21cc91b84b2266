import type { Principal } from '../http/request';
import type { Clock } from '../ports/clock';
import { bearerToken, InvalidTokenError, verifyAccessToken, type TokenSettings } from './access-token';
import type { PublicKeys } from './signing-keys';

export interface AuthorizerDeps {
  keys: PublicKeys;
  settings: Pick<TokenSettings, 'issuer' | 'audience'>;
  clock: Clock;
}

/**
 * The authorizer's decision, shared by the Lambda authorizer and local mode: the principal of a
 * valid `Authorization: Bearer` access token, or null (API Gateway answers 401). Whether the user
 * is still enabled and the session alive is the handlers' check: this runs outside the VPC,
 * without the database, and its answer is cached.
 */
export async function authorizeBearer(authorization: string | undefined, deps: AuthorizerDeps): Promise<Principal | null> {
  const token = bearerToken(authorization);
  if (!token) return null;
  try {
    return await verifyAccessToken(token, deps.keys, deps.settings, deps.clock);
  } catch (error) {
    if (error instanceof InvalidTokenError) return null;
    throw error;
  }
}

/**
 * `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{path}` →
 * `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/*\/*`. The policy is cached per token
 * for the whole stage, so it must allow every route, not just the one first called.
 */
export function stageWideResource(methodArn: string): string {
  const match = /^(arn:[^:]+:execute-api:[^:]+:[^:]+:[^/]+\/[^/]+)\//.exec(methodArn);
  if (!match) throw new Error('not an execute-api method ARN');
  return `${match[1]}/*/*`;
}

/** The context API Gateway hands to integrations (requestContext.authorizer). */
export function authorizerContext(principal: Principal): Record<string, string | boolean> {
  return { userId: principal.userId, role: principal.role, sessionId: principal.sessionId, mfa: principal.mfa };
}
