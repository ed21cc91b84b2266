import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { ensureFirstAdmin, ensureFirstAdminFromSecret } from '../../src/auth/first-admin';
import { scryptHasher } from '../../src/auth/password';
import { openTestPglite, type TestDatabase } from '../support/test-databases';

const passwords = scryptHasher({ N: 2 ** 10, r: 8, p: 1 });
const secrets = mockClient(SecretsManagerClient);

describe('the first admin', () => {
  let database: TestDatabase;

  beforeEach(async () => {
    database = await openTestPglite();
    secrets.reset();
  });

  afterEach(async () => {
    await database.dispose();
  });

  it('is created once, with a generated password and TOTP secret, and never again', async () => {
    // Act
    const first = await ensureFirstAdmin(database.db, passwords);
    const second = await ensureFirstAdmin(database.db, passwords);
    const { rows } = await database.db.query<{ role: string; totp_secret: string }>('SELECT role, totp_secret FROM users');

    // Assess
    expect(first).toMatchObject({ created: true, email: 'admin@untxt.local', password: expect.stringMatching(/^.{24}$/) });
    expect(second).toEqual({ created: false });
    expect(rows).toEqual([{ role: 'admin', totp_secret: first.created ? first.totpSecret : '' }]);
  });

  it('in AWS, takes the credentials from the secret and writes the generated TOTP secret back', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ email: 'ops@example.com', password: 'generated-by-secrets-manager' }) });
    secrets.on(PutSecretValueCommand).resolves({});

    // Act
    const result = await ensureFirstAdminFromSecret(database.db, passwords, new SecretsManagerClient({}), 'first-admin');
    const written = JSON.parse(secrets.commandCalls(PutSecretValueCommand)[0]!.args[0].input.SecretString!) as Record<string, string>;
    const { rows } = await database.db.query<{ email: string; totp_secret: string }>('SELECT email, totp_secret FROM users');

    // Assess
    expect(result).toEqual({ created: true });
    expect(written).toEqual({ email: 'ops@example.com', password: 'generated-by-secrets-manager', totpSecret: expect.stringMatching(/^[A-Z2-7]{32}$/) });
    expect(rows).toEqual([{ email: 'ops@example.com', totp_secret: written.totpSecret }]);
  });
});
