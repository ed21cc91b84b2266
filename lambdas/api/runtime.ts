import { Logger } from '@aws-lambda-powertools/logger';
import { Signer } from '@aws-sdk/rds-signer';
import type { PoolConfig } from 'pg';
import { systemClock } from '../../src/adapters/clock';
import { apiConfigFromEnv } from '../../src/api/config';
import { notConfigured, type ApiDeps } from '../../src/api/deps';
import { scryptHasher } from '../../src/auth/password';
import { createPgDatabase } from '../../src/db/pg-database';

/**
 * The optional parts of ApiDeps, each built from one environment variable by a builder in its own
 * module under lambdas/api/aws/. A route's entry file names the builders it uses (defineHandler's
 * `aws` option), so esbuild puts into that route's bundle only the AWS clients it can reach: the
 * SDK clients were most of every bundle when this file imported them all.
 */
export const AWS_PART_VARIABLES = {
  objectStore: 'DOCUMENTS_BUCKET',
  eventBus: 'EVENT_BUS_NAME',
  tickets: 'TICKETS_TABLE',
  connections: 'CONNECTIONS_TABLE',
  signingKeys: 'JWT_SIGNING_SECRET_ARN',
} as const;

export type AwsPart = keyof typeof AWS_PART_VARIABLES;

/** A builder gets its variable's value (a bucket name, a table name, an ARN). */
export type AwsPartBuilders = { readonly [K in AwsPart]?: (value: string) => ApiDeps[K] };

/**
 * AWS dependencies of the API handlers, from the function's environment:
 *
 * | variable | what |
 * | --- | --- |
 * | DB_HOST, DB_PORT, DB_NAME, DB_USER | Aurora endpoint and login role (Database.connectionEnvironment('untxt_api')) |
 * | NODE_EXTRA_CA_CERTS | `/var/runtime/ca-cert.pem`: the runtime's bundle holds the RDS CAs, so TLS verifies the server |
 * | JWT_SIGNING_SECRET_ARN | auth routes that issue tokens: the secret holding the private Ed25519 JWK set (src/auth/signing-keys.ts) |
 * | DOCUMENTS_BUCKET | task routes only |
 * | EVENT_BUS_NAME | task routes that change state (delete) |
 * | TICKETS_TABLE | ws-ticket only |
 * | CONNECTIONS_TABLE | admin disable-user only: deletes the user's WebSocket connection items |
 * | REGISTRATION_MODE | open, invite (default) or approval |
 * | TOKEN_ISSUER, TOKEN_AUDIENCE | optional; must match the authorizer's |
 * | MAX_UPLOAD_BYTES, MAX_PAGES, MAX_CONCURRENT_TASKS, MAX_PAGES_PER_DAY, MAX_BYTES_PER_DAY | optional limits |
 * | WEBSOCKET_URL | wss:// URL of the WebSocket stage (ws-ticket) |
 *
 * A part is built when its variable is set and the route's entry names its builder (a test holds
 * the entries to lib/api.ts's ROUTE_ACCESS, which sets the variables); otherwise it is
 * `notConfigured` and fails when used, so each function gets only the grants, variables and
 * clients of what it touches.
 */
export function buildAwsApiDeps(env: Readonly<Record<string, string | undefined>> = process.env, parts: AwsPartBuilders = {}): ApiDeps {
  const logger = new Logger({ serviceName: 'untxt-api' });
  const config = apiConfigFromEnv(env);
  const part = <K extends AwsPart>(name: K): ApiDeps[K] => {
    const variable = AWS_PART_VARIABLES[name];
    const value = env[variable];
    const build = parts[name] as ((value: string) => ApiDeps[K]) | undefined;
    return build && value ? build(value) : notConfigured<ApiDeps[K]>(variable);
  };
  return {
    db: createPgDatabase(iamPoolConfig(env)),
    objectStore: part('objectStore'),
    eventBus: part('eventBus'),
    tickets: part('tickets'),
    connections: part('connections'),
    clock: systemClock,
    signingKeys: part('signingKeys'),
    passwords: scryptHasher(),
    config,
    logger,
  };
}

/**
 * node-postgres over TLS with IAM authentication: the password is a fresh 15-minute token per new
 * connection. Two connections per container at most (one request at a time, plus a spare for a
 * transaction); the connect timeout stays under API Gateway's 29 s so a resuming Aurora answers
 * 503 with Retry-After instead of a gateway timeout.
 */
export function iamPoolConfig(env: Readonly<Record<string, string | undefined>>): PoolConfig {
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
    max: 2,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 60_000,
    application_name: 'untxt-api',
  };
}

function required(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

let shared: ApiDeps | undefined;

/** One set per container (which serves one route). */
export function awsApiDeps(parts: AwsPartBuilders = {}): ApiDeps {
  return (shared ??= buildAwsApiDeps(process.env, parts));
}
