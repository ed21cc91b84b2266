import type { z } from 'zod';
import { issueAccessToken } from '../../auth/access-token';
import { newOpaqueToken, tokenHash } from '../../auth/opaque-token';
import type { Queryable } from '../../db/database';
import { createSession } from '../../db/repositories/sessions';
import type { Role } from '../../http/request';
import type { ApiDeps } from '../deps';
import type { tokenResponseSchema } from './schemas';

export type TokenResponse = z.infer<typeof tokenResponseSchema>;

type SessionDeps = Pick<ApiDeps, 'signingKeys' | 'clock' | 'config'>;

/**
 * A new session family (login): a refresh token stored hashed, and an access token naming the
 * family. The family's expiry is set here, once: refreshes hand it on unchanged.
 */
export async function startSession(
  db: Queryable,
  deps: SessionDeps,
  user: { id: string; role: Role },
  mfa: boolean,
): Promise<TokenResponse> {
  const refreshToken = newOpaqueToken();
  const session = await createSession(db, {
    userId: user.id,
    tokenHash: tokenHash(refreshToken),
    expiresAt: refreshExpiry(deps),
    mfa,
  });
  return tokenResponse(deps, { userId: user.id, role: user.role, sessionId: session.familyId, mfa }, refreshToken);
}

/** The family's whole lifetime, from login: refresh tokens never extend it. */
function refreshExpiry(deps: Pick<ApiDeps, 'clock' | 'config'>): Date {
  return new Date(deps.clock.now().getTime() + deps.config.tokens.refreshTokenTtlSeconds * 1000);
}

export async function tokenResponse(
  deps: SessionDeps,
  principal: { userId: string; role: Role; sessionId: string; mfa: boolean },
  refreshToken: string,
): Promise<TokenResponse> {
  const access = await issueAccessToken(deps.signingKeys, deps.config.tokens, deps.clock, principal);
  return { accessToken: access.token, refreshToken, tokenType: 'Bearer', expiresIn: access.expiresIn };
}
