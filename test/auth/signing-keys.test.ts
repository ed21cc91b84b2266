import { stat, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { ManualClock } from '../../src/adapters/clock';
import { issueAccessToken, verifyAccessToken } from '../../src/auth/access-token';
import { ensureSigningKeySecret } from '../../src/auth/signing-key-provisioning';
import { generateSigningJwks, publicJwks, staticPublicKeys } from '../../src/auth/signing-keys';
import { LOCAL_SIGNING_KEYS_FILE, loadOrCreateLocalSigningKeys } from '../../src/auth/signing-keys-local';
import { secretsManagerSigningKeys } from '../../src/auth/signing-keys-secrets-manager';

const secrets = mockClient(SecretsManagerClient);
const settings = { issuer: 'untxt', audience: 'untxt-api', accessTokenTtlSeconds: 900 };
const principal = { userId: '0f8fad5b-d9cb-469f-a165-70867728950e', role: 'user' as const, sessionId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', mfa: false };

describe('signing keys', () => {
  beforeEach(() => secrets.reset());

  it('are generated locally once, 0600 in a 0700 folder, and read back on the next start', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'untxt-keys-'));
    try {
      // Act
      const first = await loadOrCreateLocalSigningKeys(dir);
      const content = await readFile(join(dir, 'keys', LOCAL_SIGNING_KEYS_FILE), 'utf8');
      const second = await loadOrCreateLocalSigningKeys(dir);
      const clock = new ManualClock(new Date());
      const { token } = await issueAccessToken(first, settings, clock, principal);

      // Assess
      expect((await stat(join(dir, 'keys', LOCAL_SIGNING_KEYS_FILE))).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, 'keys'))).mode & 0o777).toBe(0o700);
      expect(await readFile(join(dir, 'keys', LOCAL_SIGNING_KEYS_FILE), 'utf8')).toBe(content);
      expect(await verifyAccessToken(token, second, settings, clock)).toEqual(principal);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('are read from Secrets Manager once per cache period, and the authorizer verifies with the public half', async () => {
    // Prepare
    const jwks = await generateSigningJwks();
    secrets.on(GetSecretValueCommand, { SecretId: 'signing' }).resolves({ SecretString: JSON.stringify(jwks) });
    const clock = new ManualClock(new Date());
    const signing = secretsManagerSigningKeys({ client: new SecretsManagerClient({}), secretId: 'signing', clock });
    // What the authorizer is given (JWT_PUBLIC_JWKS): the public half only.
    const verifying = staticPublicKeys(publicJwks(jwks));

    // Act
    const { token } = await issueAccessToken(signing, settings, clock, principal);
    await issueAccessToken(signing, settings, clock, principal);
    const verified = await verifyAccessToken(token, verifying, settings, clock);

    // Assess
    expect(verified).toEqual(principal);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('refuse a secret that is not a key set without echoing it', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'hunter2-not-json' });
    const keys = secretsManagerSigningKeys({ client: new SecretsManagerClient({}), secretId: 'signing' });

    // Act
    const attempt = keys.current();

    // Assess
    await expect(attempt).rejects.toThrow('the signing key secret is not JSON');
  });

  it('are generated into a placeholder secret at deploy and kept once there', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: '{"placeholder":"x"}' });
    secrets.on(PutSecretValueCommand).resolves({});
    const client = new SecretsManagerClient({});

    // Act
    const published = await ensureSigningKeySecret(client, 'signing');
    const written = JSON.parse(secrets.commandCalls(PutSecretValueCommand)[0]!.args[0].input.SecretString!) as { keys: Array<{ d?: string }> };
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(written) });
    const again = await ensureSigningKeySecret(client, 'signing');

    // Assess
    expect(written.keys[0]!.d).toEqual(expect.any(String));
    expect(JSON.stringify(published)).not.toContain('"d"');
    expect(again).toEqual(published);
    expect(secrets).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
  });
});
