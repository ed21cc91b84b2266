import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Signer } from '@aws-sdk/rds-signer';
import type { PoolConfig } from 'pg';
import { systemClock } from '../../src/adapters/clock';
import { EventBridgeEventBus } from '../../src/adapters/aws/eventbridge-event-bus';
import { createS3Client } from '../../src/adapters/aws/s3-client';
import { S3ObjectStore } from '../../src/adapters/aws/s3-object-store';
import { apiConfigFromEnv } from '../../src/api/config';
import { notConfigured, type ApiDeps, type TicketStore } from '../../src/api/deps';
import { scryptHasher } from '../../src/auth/password';
import type { SigningKeys } from '../../src/auth/signing-keys';
import { secretsManagerSigningKeys } from '../../src/auth/signing-keys-secrets-manager';
import { createPgDatabase } from '../../src/db/pg-database';
import type { EventBus } from '../../src/ports/event-bus';
import type { ObjectStore } from '../../src/ports/object-store';
import { DynamoDbTicketStore } from '../../src/realtime/tickets/dynamodb-ticket-store';

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
 * | REGISTRATION_MODE | open, invite (default) or approval |
 * | TOKEN_ISSUER, TOKEN_AUDIENCE | optional; must match the authorizer's |
 * | MAX_UPLOAD_BYTES, MAX_PAGES, MAX_CONCURRENT_TASKS, MAX_PAGES_PER_DAY, MAX_BYTES_PER_DAY | optional limits |
 * | WEBSOCKET_URL | wss:// URL of the WebSocket stage (ws-ticket) |
 *
 * A part whose variable is absent is `notConfigured` and fails when used, so each function gets
 * only the grants and variables of what it touches.
 */
export function buildAwsApiDeps(env: Readonly<Record<string, string | undefined>> = process.env): ApiDeps {
  const logger = new Logger({ serviceName: 'untxt-api' });
  const config = apiConfigFromEnv(env);
  return {
    db: createPgDatabase(iamPoolConfig(env)),
    objectStore: env.DOCUMENTS_BUCKET
      ? new S3ObjectStore({ client: createS3Client(), bucket: env.DOCUMENTS_BUCKET })
      : notConfigured<ObjectStore>('DOCUMENTS_BUCKET'),
    eventBus: env.EVENT_BUS_NAME
      ? new EventBridgeEventBus({ client: new EventBridgeClient({}), eventBusName: env.EVENT_BUS_NAME })
      : notConfigured<EventBus>('EVENT_BUS_NAME'),
    tickets: env.TICKETS_TABLE
      ? new DynamoDbTicketStore({
          client: DynamoDBDocumentClient.from(new DynamoDBClient({})),
          tableName: env.TICKETS_TABLE,
          clock: systemClock,
        })
      : notConfigured<TicketStore>('TICKETS_TABLE'),
    clock: systemClock,
    signingKeys: env.JWT_SIGNING_SECRET_ARN
      ? secretsManagerSigningKeys({ client: new SecretsManagerClient({}), secretId: env.JWT_SIGNING_SECRET_ARN })
      : notConfigured<SigningKeys>('JWT_SIGNING_SECRET_ARN'),
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

/** One set per container. */
export function awsApiDeps(): ApiDeps {
  return (shared ??= buildAwsApiDeps());
}
