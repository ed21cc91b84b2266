import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, type JWTHeaderParameters } from 'jose';
import * as z from 'zod';
import { USER_ROLES } from '../domain/task';
import type { Clock } from '../ports/clock';
import type { Principal } from '../http/request';
import { TOKEN_ALGORITHM, type PublicKeys, type SigningKeys } from './signing-keys';

/** RFC 9068's type for JWT access tokens: a JWT minted for something else cannot pass as one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Lambda and client clocks drift a little; more would stretch the 15-minute lifetime. */
const CLOCK_TOLERANCE_SECONDS = 5;

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
}

export async function issueAccessToken(
  keys: SigningKeys,
  settings: TokenSettings,
  clock: Clock,
  principal: Principal,
): Promise<IssuedAccessToken> {
  const { kid, privateKey } = await keys.current();
  const now = Math.floor(clock.now().getTime() / 1000);
  const token = await new SignJWT({ role: principal.role, sid: principal.sessionId, mfa: principal.mfa })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject(principal.userId)
    .setIssuedAt(now)
    .setExpirationTime(now + settings.accessTokenTtlSeconds)
    .setJti(randomUUID())
    .sign(privateKey);
  return { token, expiresIn: settings.accessTokenTtlSeconds };
}

/** Any reason a token is not accepted; callers answer 401 without saying which. */
export class InvalidTokenError extends Error {
  constructor(readonly reason: string) {
    super(`access token refused: ${reason}`);
    this.name = 'InvalidTokenError';
  }
}

const claimsSchema = z.object({
  sub: z.uuid(),
  role: z.enum(USER_ROLES),
  sid: z.uuid(),
  mfa: z.boolean(),
});

/**
 * Verifies signature (EdDSA only: `none`, HMAC and every other algorithm are refused before any
 * key is looked at), type, issuer, audience, expiry and the claims' shapes.
 */
export async function verifyAccessToken(
  token: string,
  keys: PublicKeys,
  settings: Pick<TokenSettings, 'issuer' | 'audience'>,
  clock: Clock,
): Promise<Principal> {
  const verificationKeys = await keys.verificationKeys();
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(
      token,
      (header: JWTHeaderParameters) => {
        const key = verificationKeys.find((k) => k.kid === header.kid);
        if (!key) throw new InvalidTokenError('unknown key id');
        return key.publicKey;
      },
      {
        algorithms: [TOKEN_ALGORITHM],
        typ: ACCESS_TOKEN_TYPE,
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ['exp', 'iat', 'sub'],
        currentDate: clock.now(),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      },
    ));
  } catch (error) {
    if (error instanceof InvalidTokenError) throw error;
    const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : 'invalid';
    throw new InvalidTokenError(code);
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) throw new InvalidTokenError('claims');
  return { userId: claims.data.sub, role: claims.data.role, sessionId: claims.data.sid, mfa: claims.data.mfa };
}

/** `Authorization: Bearer <token>` → the token; anything else → undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header?.trim() ?? '');
  return match?.[1];
}
