import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey } from 'jose';
import * as z from 'zod';

/**
 * Access-token keys: Ed25519 (JWS alg EdDSA), kept as a JWK set. The first key signs; every key
 * verifies, so a rotation prepends a new key and drops the old one after the access-token
 * lifetime (15 minutes) has passed.
 *
 * Stored format (the Secrets Manager secret, and `<dataDir>/keys/jwt-signing-keys.json` locally):
 *   {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "…", "x": "…", "d": "…"}, …]}
 * The authorizer gets the same set without `d` (see publicJwks).
 */
export const TOKEN_ALGORITHM = 'EdDSA';

export interface VerificationKey {
  kid: string;
  publicKey: CryptoKey;
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/** What verifies tokens (the authorizer holds only this). */
export interface PublicKeys {
  verificationKeys(): Promise<readonly VerificationKey[]>;
}

/** What issues tokens (API handlers, local mode). */
export interface SigningKeys extends PublicKeys {
  current(): Promise<SigningKey>;
}

const publicJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  kid: z.string().min(1).max(200),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url Ed25519 public key'),
});
const privateJwkSchema = publicJwkSchema.extend({
  d: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url Ed25519 private key'),
});

export const publicJwksSchema = z.object({ keys: z.array(publicJwkSchema).min(1) });
export const privateJwksSchema = z.object({ keys: z.array(privateJwkSchema).min(1) });
export type PublicJwks = z.infer<typeof publicJwksSchema>;
export type PrivateJwks = z.infer<typeof privateJwksSchema>;

export class KeyMaterialError extends Error {
  override name = 'KeyMaterialError';
}

/** Parses key material without ever putting it into an error message. */
export function parseJwks<S extends typeof publicJwksSchema | typeof privateJwksSchema>(schema: S, text: string, what: string): z.output<S> {
  return parseJwksValue(schema, text, what) as z.output<S>;
}

function parseJwksValue(schema: z.ZodType, text: string, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeyMaterialError(`${what} is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new KeyMaterialError(`${what} is not an Ed25519 JWK set: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  }
  return parsed.data;
}

export function publicJwks(jwks: PrivateJwks): PublicJwks {
  return { keys: jwks.keys.map(({ kty, crv, kid, x }) => ({ kty, crv, kid, x })) };
}

export async function importVerificationKeys(jwks: PublicJwks): Promise<VerificationKey[]> {
  return Promise.all(
    jwks.keys.map(async ({ kty, crv, kid, x }) => ({
      kid,
      publicKey: (await importJWK({ kty, crv, x }, TOKEN_ALGORITHM)) as CryptoKey,
    })),
  );
}

export async function importSigningKey(jwks: PrivateJwks): Promise<SigningKey> {
  const { kty, crv, kid, x, d } = jwks.keys[0]!;
  return { kid, privateKey: (await importJWK({ kty, crv, x, d }, TOKEN_ALGORITHM)) as CryptoKey };
}

/** A new one-key set: what the deploy-time generator and local first start store. */
export async function generateSigningJwks(): Promise<PrivateJwks> {
  const { privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return privateJwksSchema.parse({ keys: [{ kty: jwk.kty, crv: jwk.crv, kid: randomUUID(), x: jwk.x, d: jwk.d }] });
}

/** Keys held in memory (local mode, tests). */
export function staticSigningKeys(jwks: PrivateJwks): SigningKeys {
  let signing: Promise<SigningKey> | undefined;
  let verifying: Promise<VerificationKey[]> | undefined;
  return {
    current: () => (signing ??= importSigningKey(jwks)),
    verificationKeys: () => (verifying ??= importVerificationKeys(publicJwks(jwks))),
  };
}

export function staticPublicKeys(jwks: PublicJwks): PublicKeys {
  let verifying: Promise<VerificationKey[]> | undefined;
  return { verificationKeys: () => (verifying ??= importVerificationKeys(jwks)) };
}
