import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { PoolConfig } from 'pg';
import {
  CONNECT_ATTEMPTS,
  migrate,
  MigrateConfigError,
  settingsFromEnv,
  type MigrateDeps,
  type MigrateSettings,
} from '../../lambdas/migrate/migrate-core';
import type { Database } from '../../src/db/database';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!cluster-abc';
const settings: MigrateSettings = { secretArn: SECRET_ARN, host: 'untxt-postgres.cluster-x.eu-central-1.rds.amazonaws.com', port: 5432, database: 'untxt' };

const secretsMock = mockClient(SecretsManagerClient);

interface FakeDatabase extends Database {
  readonly calls: string[];
}

/** A Database double that records what was called, failing the first `failures` probes. */
function fakeDatabase(failures = 0): FakeDatabase {
  const calls: string[] = [];
  let remaining = failures;
  return {
    kind: 'postgres',
    calls,
    async query() {
      calls.push('query');
      if (remaining > 0) {
        remaining -= 1;
        throw new Error('connect ECONNREFUSED');
      }
      return { rows: [], rowCount: 0 };
    },
    transaction: () => Promise.reject(new Error('not used by the core')),
    async close() {
      calls.push('close');
    },
  };
}

function deps(db: FakeDatabase, overrides: Partial<MigrateDeps> = {}): MigrateDeps & { opened: PoolConfig[] } {
  const opened: PoolConfig[] = [];
  return {
    opened,
    secrets: new SecretsManagerClient({}),
    openDatabase: (config) => {
      opened.push(config);
      return db;
    },
    runMigrations: async (d) => {
      (d as FakeDatabase).calls.push('runMigrations');
      return { applied: ['0001_initial'] };
    },
    provisionLoginRoles: async (d, opts) => {
      (d as FakeDatabase).calls.push(`provisionLoginRoles(iamAuth=${opts.iamAuth})`);
    },
    sleep: async () => undefined,
    ...overrides,
  };
}

beforeEach(() => {
  secretsMock.reset();
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'untxt_admin', password: 's3cret' }) });
});

describe('migrate', () => {
  it('reads the master secret, connects over verified TLS, migrates, provisions IAM roles and closes', async () => {
    // Prepare
    const db = fakeDatabase();
    const d = deps(db);

    // Act
    const result = await migrate(settings, d);

    // Assess
    expect(result).toEqual({ applied: ['0001_initial'] });
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ARN });
    expect(d.opened).toEqual([
      expect.objectContaining({
        host: settings.host,
        port: 5432,
        database: 'untxt',
        user: 'untxt_admin',
        password: 's3cret',
        ssl: { rejectUnauthorized: true },
      }),
    ]);
    expect(db.calls).toEqual(['query', 'runMigrations', 'provisionLoginRoles(iamAuth=true)', 'close']);
  });

  it('retries the first round trip while a paused cluster resumes', async () => {
    // Prepare
    const db = fakeDatabase(2);
    const sleeps: number[] = [];

    // Act
    await migrate(settings, deps(db, { sleep: async (ms) => void sleeps.push(ms) }));

    // Assess
    expect(sleeps).toHaveLength(2);
    expect(db.calls.filter((c) => c === 'query')).toHaveLength(3);
    expect(db.calls).toContain('runMigrations');
  });

  it('gives up after the last attempt, closes the pool and does not migrate', async () => {
    // Prepare
    const db = fakeDatabase(CONNECT_ATTEMPTS);

    // Act
    const run = migrate(settings, deps(db));

    // Assess
    await expect(run).rejects.toThrow('ECONNREFUSED');
    expect(db.calls).not.toContain('runMigrations');
    expect(db.calls[db.calls.length - 1]).toBe('close');
  });

  it('closes the pool when a migration fails, and fails the invocation', async () => {
    // Prepare
    const db = fakeDatabase();
    const failing = deps(db, { runMigrations: () => Promise.reject(new Error('migration 0002 failed')) });

    // Act
    const run = migrate(settings, failing);

    // Assess
    await expect(run).rejects.toThrow('migration 0002 failed');
    expect(db.calls).toEqual(['query', 'close']);
  });

  it.each([
    ['no SecretString', {}],
    ['a secret that is not JSON', { SecretString: 'password=s3cret' }],
    ['a secret without a password', { SecretString: JSON.stringify({ username: 'untxt_admin' }) }],
    ['a secret whose password is not a string', { SecretString: JSON.stringify({ username: 'untxt_admin', password: ['s3cret'] }) }],
    ['a secret with keys of another kind of secret', { SecretString: JSON.stringify({ username: 'untxt_admin', password: 's3cret', apiKey: 's3cret' }) }],
  ])('refuses %s without opening a connection or echoing the secret', async (_what, response) => {
    // Prepare
    secretsMock.on(GetSecretValueCommand).resolves(response);
    const d = deps(fakeDatabase());

    // Act
    const run = migrate(settings, d);

    // Assess
    await expect(run).rejects.toThrow(MigrateConfigError);
    await expect(migrate(settings, d)).rejects.not.toThrow(/s3cret/);
    expect(d.opened).toHaveLength(0);
  });
});

describe('settingsFromEnv', () => {
  it('reads the secret ARN and connection target from the environment', () => {
    // Act
    const parsed = settingsFromEnv({ MASTER_SECRET_ARN: SECRET_ARN, DB_HOST: settings.host, DB_PORT: '5432', DB_NAME: 'untxt' });

    // Assess
    expect(parsed).toEqual(settings);
  });

  it('names a missing variable', () => {
    // Act
    const read = () => settingsFromEnv({ DB_HOST: 'h', DB_PORT: '5432', DB_NAME: 'untxt' });

    // Assess
    expect(read).toThrow('MASTER_SECRET_ARN');
  });

  it('refuses a port that is not a number', () => {
    // Act
    const read = () => settingsFromEnv({ MASTER_SECRET_ARN: SECRET_ARN, DB_HOST: 'h', DB_PORT: 'postgres', DB_NAME: 'untxt' });

    // Assess
    expect(read).toThrow('DB_PORT');
  });
});

describe('the master secret', () => {
  it.each([
    ['the RDS-managed shape', { username: 'untxt_admin', password: 'pw' }],
    [
      'a cluster secret with connection fields',
      { username: 'untxt_admin', password: 'pw', engine: 'postgres', host: 'h', port: 5432, dbname: 'untxt', dbClusterIdentifier: 'untxt-postgres' },
    ],
  ])('is accepted in %s, connecting with its username and password only', async (_what, secret) => {
    // Prepare
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(secret) });
    const d = deps(fakeDatabase());

    // Act
    await migrate(settings, d);

    // Assess
    expect(d.opened[0]).toMatchObject({ user: 'untxt_admin', password: 'pw', host: settings.host, port: 5432 });
  });

  it('names an unexpected key without quoting any value', async () => {
    // Prepare
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'u', password: 's3cret', token: 's3cret' }) });

    // Act
    const run = migrate(settings, deps(fakeDatabase()));

    // Assess
    await expect(run).rejects.toThrow(/unexpected token/);
  });
});

describe('the migration log', () => {
  it('records the applied migrations through the structured logger', async () => {
    // Prepare
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'u', password: 'p' }) });
    const info = jest.fn();
    const d = deps(fakeDatabase(), { logger: { info, warn: jest.fn() } });

    // Act
    await migrate(settings, d);

    // Assess
    expect(info).toHaveBeenCalledWith('migrations applied', { applied: ['0001_initial'] });
  });
});
