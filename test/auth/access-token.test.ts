import { SignJWT, UnsecuredJWT } from 'jose';
import { ManualClock } from '../../src/adapters/clock';
import { issueAccessToken } from '../../src/auth/access-token';
import { authorizeBearer, stageWideResource } from '../../src/auth/authorizer';
import { generateSigningJwks, staticSigningKeys, type SigningKeys } from '../../src/auth/signing-keys';
import type { Principal } from '../../src/http/request';

const settings = { issuer: 'untxt', audience: 'untxt-api', accessTokenTtlSeconds: 900 };
const principal: Principal = { userId: '0f8fad5b-d9cb-469f-a165-70867728950e', role: 'admin', sessionId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', mfa: true };

describe('access tokens and the authorizer core', () => {
  let keys: SigningKeys;
  let otherKeys: SigningKeys;
  const clock = new ManualClock(new Date('2026-05-01T12:00:00Z'));

  beforeAll(async () => {
    keys = staticSigningKeys(await generateSigningJwks());
    otherKeys = staticSigningKeys(await generateSigningJwks());
  });

  const authorize = (token: string, at = clock) => authorizeBearer(`Bearer ${token}`, { keys, settings, clock: at });

  it('accepts its own token and hands back the principal', async () => {
    // Prepare
    const { token } = await issueAccessToken(keys, settings, clock, principal);

    // Act
    const result = await authorize(token);

    // Assess
    expect(result).toEqual(principal);
  });

  it('refuses a token past its 15 minutes', async () => {
    // Prepare
    const { token } = await issueAccessToken(keys, settings, clock, principal);
    const later = new ManualClock(new Date(clock.now().getTime() + 15 * 60_000 + 6_000));

    // Act
    const result = await authorize(token, later);

    // Assess
    expect(result).toBeNull();
  });

  it('refuses a token signed with another key under a known key id', async () => {
    // Prepare
    const { kid } = await keys.current();
    const { privateKey } = await otherKeys.current();
    const forged = await new SignJWT({ role: 'admin', sid: principal.sessionId, mfa: true })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject(principal.userId)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);

    // Act
    const result = await authorizeBearer(`Bearer ${forged}`, { keys, settings, clock: new ManualClock(new Date()) });

    // Assess
    expect(result).toBeNull();
  });

  it('refuses an unsigned token (alg none)', async () => {
    // Prepare
    const unsigned = new UnsecuredJWT({ role: 'admin', sid: principal.sessionId, mfa: true })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject(principal.userId)
      .setIssuedAt()
      .setExpirationTime('10m')
      .encode();

    // Act
    const result = await authorizeBearer(`Bearer ${unsigned}x`, { keys, settings, clock: new ManualClock(new Date()) });
    const bare = await authorizeBearer(`Bearer ${unsigned}`, { keys, settings, clock: new ManualClock(new Date()) });

    // Assess
    expect(result).toBeNull();
    expect(bare).toBeNull();
  });

  it('refuses a token for another audience or issuer', async () => {
    // Prepare
    const otherAudience = await issueAccessToken(keys, { ...settings, audience: 'someone-else' }, clock, principal);
    const otherIssuer = await issueAccessToken(keys, { ...settings, issuer: 'evil' }, clock, principal);

    // Act
    const results = [await authorize(otherAudience.token), await authorize(otherIssuer.token)];

    // Assess
    expect(results).toEqual([null, null]);
  });

  it('refuses a header that is not a Bearer token', async () => {
    // Prepare
    const { token } = await issueAccessToken(keys, settings, clock, principal);

    // Act
    const results = await Promise.all([
      authorizeBearer(token, { keys, settings, clock }),
      authorizeBearer(`Basic ${token}`, { keys, settings, clock }),
      authorizeBearer(undefined, { keys, settings, clock }),
    ]);

    // Assess
    expect(results).toEqual([null, null, null]);
  });

  it('widens the policy to every method and path of the stage', () => {
    // Act
    const resource = stageWideResource('arn:aws:execute-api:eu-central-1:123456789012:abc123/prod/GET/v1/tasks/1');

    // Assess
    expect(resource).toBe('arn:aws:execute-api:eu-central-1:123456789012:abc123/prod/*/*');
  });
});
