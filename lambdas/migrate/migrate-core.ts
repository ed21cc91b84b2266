import type { Logger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { PoolConfig } from 'pg';
import { z } from 'zod';
import { errorSummary } from '../../src/adapters/error-summary';
import type { Database } from '../../src/db/database';

/** What the trigger needs to find the database; all from the function's environment. */
export interface MigrateSettings {
  readonly secretArn: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
}

export interface MigrateDeps {
  readonly secrets: SecretsManagerClient;
  readonly openDatabase: (config: PoolConfig) => Database;
  readonly runMigrations: (db: Database) => Promise<{ applied: string[] }>;
  readonly provisionLoginRoles: (db: Database, opts: { iamAuth: boolean }) => Promise<void>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
}

export interface MigrateResult {
  readonly applied: string[];
}

/**
 * A paused Aurora Serverless v2 cluster resumes on the first connection, in about 15 s; a
 * connection attempt during the resume can fail, so the first round trip is retried.
 */
export const CONNECT_ATTEMPTS = 6;
export const CONNECT_RETRY_DELAY_MS = 5_000;

export class MigrateConfigError extends Error {
  override name = 'MigrateConfigError';
}

export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): MigrateSettings {
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') throw new MigrateConfigError(`environment variable ${name} is not set`);
    return value;
  };
  const port = Number(required('DB_PORT'));
  if (!Number.isInteger(port) || port <= 0) throw new MigrateConfigError(`DB_PORT is not a port: ${env.DB_PORT}`);
  return {
    secretArn: required('MASTER_SECRET_ARN'),
    host: required('DB_HOST'),
    port,
    database: required('DB_NAME'),
  };
}

/**
 * The master secret, read at a trust boundary. An RDS-managed secret holds `username` and
 * `password`; a secret that CDK or an operator made for a cluster also carries the connection
 * fields below. Those are accepted and ignored (host and port come from the environment); any
 * other key means this is not the secret we expect.
 */
const MasterSecret = z.strictObject({
  username: z.string().min(1),
  password: z.string().min(1),
  engine: z.string().optional(),
  host: z.string().optional(),
  port: z.number().optional(),
  dbname: z.string().optional(),
  dbClusterIdentifier: z.string().optional(),
  dbInstanceIdentifier: z.string().optional(),
});

interface MasterCredentials {
  readonly username: string;
  readonly password: string;
}

export async function readMasterCredentials(secrets: SecretsManagerClient, secretArn: string): Promise<MasterCredentials> {
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (SecretString === undefined) throw new MigrateConfigError('master secret has no SecretString');
  let json: unknown;
  try {
    json = JSON.parse(SecretString);
  } catch {
    // Never echo the secret's text into an error message or log.
    throw new MigrateConfigError('master secret is not JSON');
  }
  const parsed = MasterSecret.safeParse(json);
  if (!parsed.success) {
    // Key names and issue codes only: zod's messages may quote the offending values.
    const where = parsed.error.issues
      .map((issue) => (issue.code === 'unrecognized_keys' ? `unexpected ${issue.keys.join(', ')}` : `${issue.path.join('.')}: ${issue.code}`))
      .join('; ');
    throw new MigrateConfigError(`master secret does not have the expected shape (${where})`);
  }
  return { username: parsed.data.username, password: parsed.data.password };
}

/**
 * TLS with the server certificate verified against the trusted CAs. On Lambda the RDS CAs come
 * from the runtime's bundle, loaded through NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem.
 */
export function poolConfig(settings: MigrateSettings, credentials: MasterCredentials): PoolConfig {
  return {
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: credentials.username,
    password: credentials.password,
    ssl: { rejectUnauthorized: true },
    max: 1,
    connectionTimeoutMillis: 20_000,
    application_name: 'untxt-migrate',
  };
}

async function waitUntilReachable(db: Database, deps: MigrateDeps): Promise<void> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      await db.query('SELECT 1');
      return;
    } catch (err) {
      if (attempt >= CONNECT_ATTEMPTS) throw err;
      deps.logger?.warn('database not reachable yet, retrying', { attempt, error: errorSummary(err) });
      await sleep(CONNECT_RETRY_DELAY_MS);
    }
  }
}

/** Applies pending migrations, then (re)provisions the IAM login roles so grants cover new tables. */
export async function migrate(settings: MigrateSettings, deps: MigrateDeps): Promise<MigrateResult> {
  const credentials = await readMasterCredentials(deps.secrets, settings.secretArn);
  const db = deps.openDatabase(poolConfig(settings, credentials));
  try {
    await waitUntilReachable(db, deps);
    const { applied } = await deps.runMigrations(db);
    deps.logger?.info('migrations applied', { applied });
    await deps.provisionLoginRoles(db, { iamAuth: true });
    deps.logger?.info('login roles provisioned');
    return { applied };
  } finally {
    await db.close();
  }
}
