import { Logger } from '@aws-lambda-powertools/logger';
import { iamPoolConfig } from '../../src/adapters/aws/iam-pool-config';
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
    // Two connections per container: one request at a time, plus a spare for a transaction.
    db: createPgDatabase(iamPoolConfig(env, { applicationName: 'untxt-api', max: 2 })),
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
