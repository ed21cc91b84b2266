import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { systemClock } from '../adapters/clock';
import type { Clock } from '../ports/clock';
import {
  KeyMaterialError,
  importSigningKey,
  importVerificationKeys,
  parseJwks,
  privateJwksSchema,
  publicJwks,
  type SigningKey,
  type SigningKeys,
  type VerificationKey,
} from './signing-keys';

export interface SecretsManagerKeysOptions {
  client: SecretsManagerClient;
  secretId: string;
  clock?: Clock;
  /** How long a read secret is used before it is read again (a rotation shows up within this). */
  cacheMs?: number;
}

const DEFAULT_CACHE_MS = 10 * 60 * 1000;

/** Reads a secret's JWK set once per cache period; a failed read is not cached. */
function cachedSecret<T>(options: SecretsManagerKeysOptions, parse: (text: string) => Promise<T>): () => Promise<T> {
  const clock = options.clock ?? systemClock;
  const cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
  let entry: { value: Promise<T>; readAt: number } | undefined;
  return () => {
    const now = clock.now().getTime();
    if (!entry || now - entry.readAt >= cacheMs) {
      const value = (async () => {
        const { SecretString } = await options.client.send(new GetSecretValueCommand({ SecretId: options.secretId }));
        if (SecretString === undefined) throw new KeyMaterialError('the signing key secret has no SecretString');
        return parse(SecretString);
      })();
      entry = { value, readAt: now };
      value.catch(() => {
        if (entry?.value === value) entry = undefined;
      });
    }
    return entry.value;
  };
}

/** API handlers: the private JWK set from Secrets Manager (generated at deploy). */
export function secretsManagerSigningKeys(options: SecretsManagerKeysOptions): SigningKeys {
  const keys = cachedSecret(options, async (text) => {
    const jwks = parseJwks(privateJwksSchema, text, 'the signing key secret');
    return { signing: await importSigningKey(jwks), verifying: await importVerificationKeys(publicJwks(jwks)) };
  });
  return {
    current: async (): Promise<SigningKey> => (await keys()).signing,
    verificationKeys: async (): Promise<readonly VerificationKey[]> => (await keys()).verifying,
  };
}
