import { Signer } from '@aws-sdk/rds-signer';
import type { PoolConfig } from 'pg';
import { required, type Env } from '../../../lambdas/shared/env';

/**
 * node-postgres over TLS with IAM authentication, for the Aurora login role in DB_HOST, DB_PORT,
 * DB_NAME and DB_USER: the password is a fresh 15-minute token per new connection. The connect
 * timeout stays under API Gateway's 29 s so a resuming Aurora answers 503 with Retry-After
 * instead of a gateway timeout. `applicationName` names the caller in pg_stat_activity; `max` is
 * the pool size (a Lambda container serves one request at a time).
 */
export function iamPoolConfig(env: Env, options: { applicationName: string; max: number }): PoolConfig {
  const host = required(env, 'DB_HOST');
  const port = Number(required(env, 'DB_PORT'));
  const user = required(env, 'DB_USER');
  const signer = new Signer({ hostname: host, port, username: user, ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}) });
  return {
    host,
    port,
    database: required(env, 'DB_NAME'),
    user,
    password: () => signer.getAuthToken(),
    ssl: { rejectUnauthorized: true },
    max: options.max,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 60_000,
    application_name: options.applicationName,
  };
}
