import { ManualClock } from '../../src/adapters/clock';
import { issueAccessToken } from '../../src/auth/access-token';
import { generateSigningJwks, publicJwks, staticSigningKeys } from '../../src/auth/signing-keys';
import { authorizeToken, UNAUTHORIZED } from '../../lambdas/authorizer/authorizer-core';
import { authorizerDepsFromEnv } from '../../lambdas/authorizer/handler';

const METHOD_ARN = 'arn:aws:execute-api:eu-central-1:123456789012:abc123/prod/GET/v1/me';
const principal = { userId: '0f8fad5b-d9cb-469f-a165-70867728950e', role: 'user' as const, sessionId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', mfa: false };

describe('the Lambda authorizer', () => {
  it('allows every route of the stage for a valid token and passes the principal as context', async () => {
    // Prepare
    const jwks = await generateSigningJwks();
    const deps = authorizerDepsFromEnv({ JWT_PUBLIC_JWKS: JSON.stringify(publicJwks(jwks)) });
    const { token } = await issueAccessToken(staticSigningKeys(jwks), { ...deps.settings, accessTokenTtlSeconds: 900 }, new ManualClock(new Date()), principal);

    // Act
    const result = await authorizeToken({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: METHOD_ARN }, deps);

    // Assess
    expect(result).toEqual({
      principalId: principal.userId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:eu-central-1:123456789012:abc123/prod/*/*' }],
      },
      context: { userId: principal.userId, role: 'user', sessionId: principal.sessionId, mfa: false },
    });
  });

  it('answers Unauthorized (401) for a token it cannot verify', async () => {
    // Prepare
    const deps = authorizerDepsFromEnv({ JWT_PUBLIC_JWKS: JSON.stringify(publicJwks(await generateSigningJwks())) });
    const { token } = await issueAccessToken(staticSigningKeys(await generateSigningJwks()), { ...deps.settings, accessTokenTtlSeconds: 900 }, new ManualClock(new Date()), principal);

    // Act
    const attempt = authorizeToken({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: METHOD_ARN }, deps);

    // Assess
    await expect(attempt).rejects.toThrow(UNAUTHORIZED);
  });

  it('refuses to start without public keys, and with a private key set in JWT_PUBLIC_JWKS', async () => {
    // Prepare
    const privateSet = JSON.stringify(await generateSigningJwks());

    // Act
    const withoutKeys = () => authorizerDepsFromEnv({});
    const withPrivate = () => authorizerDepsFromEnv({ JWT_PUBLIC_JWKS: privateSet });

    // Assess
    expect(withoutKeys).toThrow(/JWT_PUBLIC_JWKS/);
    expect(withPrivate).toThrow(/private key/);
  });
});
