import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { generateSigningJwks, privateJwksSchema, publicJwks, type PublicJwks } from './signing-keys';

/**
 * Deploy time: makes sure the signing secret holds an Ed25519 JWK set, generating one into it
 * when it does not (a fresh secret holds CloudFormation's placeholder), and returns the public
 * half for the authorizer's JWT_PUBLIC_JWKS. Idempotent: an existing key set is kept as is.
 */
export async function ensureSigningKeySecret(secrets: SecretsManagerClient, secretId: string): Promise<PublicJwks> {
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  let existing: unknown;
  try {
    existing = JSON.parse(SecretString ?? '');
  } catch {
    existing = undefined;
  }
  const parsed = privateJwksSchema.safeParse(existing);
  if (parsed.success) return publicJwks(parsed.data);
  const jwks = await generateSigningJwks();
  await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(jwks) }));
  return publicJwks(jwks);
}
