import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { systemClock } from '../../src/adapters/clock';
import { DEFAULT_TOKEN_AUDIENCE, DEFAULT_TOKEN_ISSUER } from '../../src/api/config';
import type { AuthorizerDeps } from '../../src/auth/authorizer';
import { secretsManagerPublicKeys } from '../../src/auth/signing-keys-secrets-manager';
import { parseJwks, publicJwksSchema, staticPublicKeys, type PublicKeys } from '../../src/auth/signing-keys';
import { authorizeToken } from './authorizer-core';

/**
 * The Lambda authorizer. It runs outside the VPC and holds only PUBLIC keys, from (first found):
 * - JWT_PUBLIC_JWKS: the public JWK set as JSON (`{"keys":[{"kty":"OKP","crv":"Ed25519","kid","x"}]}`),
 *   e.g. the output of the deploy-time key generator (src/auth/signing-key-provisioning.ts). No
 *   network call at cold start and no secret to read; a key rotation is a redeploy.
 * - JWT_PUBLIC_KEY_SECRET_ARN: a secret holding that same public set (re-read every 10 minutes).
 * TOKEN_ISSUER / TOKEN_AUDIENCE: optional, must equal the API handlers' values.
 * Never give it the private signing secret: it must not be able to mint tokens.
 */
export function authorizerDepsFromEnv(env: Readonly<Record<string, string | undefined>>): AuthorizerDeps {
  let keys: PublicKeys;
  if (env.JWT_PUBLIC_JWKS) {
    if (/"d"\s*:/.test(env.JWT_PUBLIC_JWKS)) throw new Error('JWT_PUBLIC_JWKS holds a private key: give the authorizer the public half only');
    keys = staticPublicKeys(parseJwks(publicJwksSchema, env.JWT_PUBLIC_JWKS, 'JWT_PUBLIC_JWKS'));
  } else if (env.JWT_PUBLIC_KEY_SECRET_ARN) {
    keys = secretsManagerPublicKeys({ client: new SecretsManagerClient({}), secretId: env.JWT_PUBLIC_KEY_SECRET_ARN });
  } else {
    throw new Error('set JWT_PUBLIC_JWKS or JWT_PUBLIC_KEY_SECRET_ARN');
  }
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
