import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { systemClock } from '../../src/adapters/clock';
import { DEFAULT_TOKEN_AUDIENCE, DEFAULT_TOKEN_ISSUER } from '../../src/api/config';
import type { AuthorizerDeps } from '../../src/auth/authorizer';
import { parseJwks, publicJwksSchema, staticPublicKeys } from '../../src/auth/signing-keys';
import { authorizeToken } from './authorizer-core';

/**
 * The Lambda authorizer. It runs outside the VPC and holds only PUBLIC keys, from
 * JWT_PUBLIC_JWKS: the public JWK set as JSON (`{"keys":[{"kty":"OKP","crv":"Ed25519","kid","x"}]}`),
 * the output of the deploy-time key generator (src/auth/signing-key-provisioning.ts). No network
 * call at cold start, no secret to read and no AWS SDK in the bundle; a key rotation is a redeploy.
 * (A Secrets Manager source, never configured by the stack, was dropped for the SDK's weight.)
 * TOKEN_ISSUER / TOKEN_AUDIENCE: optional, must equal the API handlers' values.
 * Never give it the private signing secret: it must not be able to mint tokens.
 */
export function authorizerDepsFromEnv(env: Readonly<Record<string, string | undefined>>): AuthorizerDeps {
  if (!env.JWT_PUBLIC_JWKS) throw new Error('set JWT_PUBLIC_JWKS');
  if (/"d"\s*:/.test(env.JWT_PUBLIC_JWKS)) throw new Error('JWT_PUBLIC_JWKS holds a private key: give the authorizer the public half only');
  const keys = staticPublicKeys(parseJwks(publicJwksSchema, env.JWT_PUBLIC_JWKS, 'JWT_PUBLIC_JWKS'));
  return {
    keys,
    settings: { issuer: env.TOKEN_ISSUER || DEFAULT_TOKEN_ISSUER, audience: env.TOKEN_AUDIENCE || DEFAULT_TOKEN_AUDIENCE },
    clock: systemClock,
  };
}

let deps: AuthorizerDeps | undefined;

export async function handler(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  deps ??= authorizerDepsFromEnv(process.env);
  return authorizeToken(event, deps);
}
