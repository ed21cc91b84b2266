import * as path from 'node:path';
import { Duration, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { RouteId, RouteSpec } from '../lambdas/api/routes';
import { addProblemGatewayResponses } from './api-gateway-responses';
import { grantSecretAccess } from './api-provisioning';
import { ApiWaf } from './api-waf';
import type { Database } from './database';
import { DocumentAccess, type DocumentBucket } from './document-access';
import type { Network } from './network';
import { createNodeFunction, invokedSynchronously } from './node-function';
import { RESULTS_PREFIX, UPLOADS_PREFIX } from './storage';
import type { TicketsTable } from './tickets-table';
import type { ConnectionsTable } from './connections-table';

const REPO_ROOT = path.join(__dirname, '..');

/** Stage name: the URL is `https://{id}.execute-api.{region}.amazonaws.com/prod/v1/…`. */
export const API_STAGE_NAME = 'prod';

/**
 * How long API Gateway reuses an authorizer's answer for the same token. The policy allows the
 * whole stage, so one answer serves all of a token's calls; handlers still re-check disabled
 * users and revoked sessions. Well under the 15-minute token life.
 */
export const AUTHORIZER_CACHE_TTL = Duration.minutes(5);

/** API Gateway waits 29 s for an integration; a handler gives up before that (a resuming Aurora answers 503). */
const HANDLER_TIMEOUT = Duration.seconds(25);

/** Bearer JWTs only: anything else is refused with 401 without invoking the authorizer. */
const BEARER_JWT = '^[Bb]earer [A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$';

/**
 * What each route's function may touch, beyond its logs. `database` is `rds-db:connect` as
 * untxt_api (every function gets the connection settings, since the shared runtime reads them,
 * but only these may connect).
 */
export type RouteAccess =
  | 'database'
  | 'signingKey'
  | 'presignUpload'
  | 'readResults'
  | 'eraseDocuments'
  | 'publishEvents'
  | 'issueTickets'
  | 'removeConnections';

export const ROUTE_ACCESS: Readonly<Record<RouteId, readonly RouteAccess[]>> = {
  register: ['database'],
  login: ['database', 'signingKey'],
  refresh: ['database', 'signingKey'],
  logout: ['database'],
  me: ['database'],
  createTask: ['database', 'presignUpload'],
  listTasks: ['database'],
  getTask: ['database'],
  getResult: ['database', 'readResults'],
  getPageImage: ['database', 'readResults'],
  deleteTask: ['database', 'eraseDocuments', 'publishEvents'],
  wsTicket: ['database', 'issueTickets'],
  adminListUsers: ['database'],
  // A disabled user's WebSocket connections are deleted, so the notifier posts to them no more.
  adminDisableUser: ['database', 'removeConnections'],
  adminEnableUser: ['database'],
  adminInvite: ['database'],
  openapi: [],
  health: ['database'],
};

/** scrypt (N=2^17, r=8) is CPU-bound; Lambda's CPU share grows with memory. */
const PASSWORD_HASHING_ROUTES: ReadonlySet<RouteId> = new Set(['register', 'login']);

/** Settings handed to every handler as environment variables (src/api/config.ts reads them). */
export interface ApiSettings {
  readonly registrationMode: string;
  readonly maxUploadBytes: number;
  readonly maxPages: number;
  readonly maxConcurrentTasks: number;
  readonly maxPagesPerDay: number;
  readonly maxBytesPerDay: number;
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  readonly wafRateLimit: number;
  readonly maxBodyBytes: number;
}

export interface HttpApiProps {
  readonly routes: readonly RouteSpec[];
  readonly settings: ApiSettings;
  readonly network: Network;
  readonly database: Database;
  readonly documents: DocumentBucket;
  readonly bus: events.IEventBus;
  readonly tickets: TicketsTable;
  readonly connections: ConnectionsTable;
  /** The private signing JWK set; only routes that issue tokens may read it. */
  readonly signingSecret: secretsmanager.ISecret;
  readonly signingSecretKey: kms.IKey;
  /** The public JWK set (JSON) for the authorizer. */
  readonly publicJwks: string;
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The HTTP API (DESIGN "HTTP API"): a regional REST API with one Lambda function per route of
 * the manifest (lambdas/api/routes.ts), a TOKEN authorizer outside the VPC holding only the public
 * keys, stage throttling, JSON access logs in a KMS-encrypted log group, X-Ray tracing, a WAF web
 * ACL, and problem+json gateway responses. Handlers run in the isolated subnets and get only the
 * grants their route needs (ROUTE_ACCESS).
 */
export class HttpApi extends Construct {
  readonly api: apigw.RestApi;
  readonly authorizer: NodejsFunction;
  readonly functions: Readonly<Record<string, NodejsFunction>>;
  readonly handlerSecurityGroup: ec2.ISecurityGroup;
  readonly accessLogs: logs.ILogGroup;
  readonly waf: ApiWaf;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    this.handlerSecurityGroup = props.network.newEndpointClientGroup(this, 'HandlerSecurityGroup', 'API handlers: PostgreSQL and the VPC endpoints only');
    props.database.allowConnectionsFrom(this.handlerSecurityGroup);

    this.authorizer = this.newAuthorizerFunction(props);
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      encryptionKey: props.logKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.logRemovalPolicy,
    });
    this.api = this.newRestApi(props);
    const authorizer = new apigw.TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: this.authorizer,
      identitySource: apigw.IdentitySource.header('Authorization'),
      validationRegex: BEARER_JWT,
      resultsCacheTtl: AUTHORIZER_CACHE_TTL,
    });
    const documents = new DocumentAccess(props.documents);
    const functions: Record<string, NodejsFunction> = {};
    for (const route of props.routes) {
      const fn = this.newRouteFunction(route, props);
      this.grantRouteAccess(fn, route, props, documents);
      const resource = this.api.root.resourceForPath(route.path);
      const method = resource.addMethod(route.method, new apigw.LambdaIntegration(fn, { allowTestInvoke: false }), {
        ...(route.auth === 'public' ? { authorizationType: apigw.AuthorizationType.NONE } : { authorizer }),
        operationName: route.id,
      });
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          'untxt keeps its own accounts (DESIGN "HTTP API"): access tokens are EdDSA JWTs with issuer, audience and algorithm pinned, verified by the Lambda TOKEN authorizer; a Cognito user pool is not part of the design.',
      });
      functions[route.id] = fn;
    }
    this.functions = functions;
    addProblemGatewayResponses(this.api);
    this.waf = new ApiWaf(this, 'Waf', {
      stage: this.api.deploymentStage,
      rateLimit: props.settings.wafRateLimit,
      maxBodyBytes: props.settings.maxBodyBytes,
      logKey: props.logKey,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    this.acknowledgeApiFindings(props.routes);
  }

  /** The stage's base URL, e.g. `https://abc.execute-api.eu-central-1.amazonaws.com/prod/`. */
  get url(): string {
    return this.api.url;
  }

  private newAuthorizerFunction(props: HttpApiProps): NodejsFunction {
    const fn = createNodeFunction(this, 'AuthorizerFunction', {
      entry: path.join(REPO_ROOT, 'lambdas', 'authorizer', 'handler.ts'),
      description: 'Verifies access tokens (EdDSA JWT) for the HTTP API; holds only public keys',
      memorySize: 256,
      timeout: Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      environment: { JWT_PUBLIC_JWKS: props.publicJwks },
      logKey: props.logKey,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    Validations.of(fn).acknowledge(
      {
        id: 'HIPAA.Security-LambdaInsideVPC',
        reason:
          'The authorizer runs outside the VPC by design (DESIGN "Where things run"): it holds only the public verification keys in its environment, makes no network call and has no permission beyond its own log group; it sees tokens, never documents.',
      },
      ...invokedSynchronously('by API Gateway for each uncached token'),
      {
        id: 'HIPAA.Security-LambdaConcurrency',
        reason: `Bounded by the stage throttle (burst ${props.settings.throttleBurstLimit}) and the ${AUTHORIZER_CACHE_TTL.toMinutes()}-minute result cache; reserving concurrency would take it from the account pool and fail deployments in accounts with a low quota.`,
      },
    );
    return fn;
  }

  private newRestApi(props: HttpApiProps): apigw.RestApi {
    const { settings } = props;
    const api = new apigw.RestApi(this, 'RestApi', {
      restApiName: 'untxt',
      description: 'untxt HTTP API (/v1)',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      // Execution logs would need an account-wide role and land in an unencrypted log group.
      cloudWatchRole: false,
      deployOptions: {
        stageName: API_STAGE_NAME,
        tracingEnabled: true,
        throttlingRateLimit: settings.throttleRateLimit,
        throttlingBurstLimit: settings.throttleBurstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: accessLogFormat(),
      },
    });
    // The stack publishes the URL as ApiUrl; the construct's own output has a generated name.
    api.node.tryRemoveChild('Endpoint');
    return api;
  }

  private newRouteFunction(route: RouteSpec, props: HttpApiProps): NodejsFunction {
    const id = `${pascalCase(route.id)}Function`;
    const fn = createNodeFunction(this, id, {
      entry: path.join(REPO_ROOT, route.entry),
      description: `untxt API: ${route.method} ${route.path}`,
      memorySize: PASSWORD_HASHING_ROUTES.has(route.id as RouteId) ? 1024 : 512,
      timeout: HANDLER_TIMEOUT,
      tracing: lambda.Tracing.ACTIVE,
      vpc: props.network.vpc,
      vpcSubnets: props.network.subnets,
      securityGroups: [this.handlerSecurityGroup],
      environment: handlerEnvironment(route, props),
      logKey: props.logKey,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    Validations.of(fn).acknowledge(...invokedSynchronously('by API Gateway (Lambda proxy integration)'), {
      id: 'HIPAA.Security-LambdaConcurrency',
      reason: `Concurrency across all routes is bounded by the stage throttle (burst ${props.settings.throttleBurstLimit}), which also bounds database connections; per-function reservations for every route would take that many from the account pool and fail deployments in accounts with a low quota.`,
    });
    return fn;
  }

  private grantRouteAccess(fn: NodejsFunction, route: RouteSpec, props: HttpApiProps, documents: DocumentAccess): void {
    for (const access of ROUTE_ACCESS[route.id as RouteId] ?? []) {
      switch (access) {
        case 'database':
          props.database.grantConnect(fn, 'untxt_api');
          break;
        case 'signingKey':
          grantSecretAccess(fn, props.signingSecret, props.signingSecretKey, 'read');
          break;
        case 'presignUpload':
          documents.grantPresignUpload(fn);
          break;
        case 'readResults':
          documents.grantRead(fn, RESULTS_PREFIX);
          break;
        case 'eraseDocuments':
          documents.grantErase(fn, [UPLOADS_PREFIX, RESULTS_PREFIX]);
          break;
        case 'publishEvents':
          props.bus.grantPutEventsTo(fn);
          break;
        case 'issueTickets':
          props.tickets.grantIssue(fn);
          break;
        case 'removeConnections':
          props.connections.grantRemoveUserConnections(fn);
          break;
      }
    }
  }

  private acknowledgeApiFindings(routes: readonly RouteSpec[]): void {
    const publicRoutes = routes.filter((r) => r.auth === 'public').map((r) => `${r.method} ${r.path}`);
    for (const route of routes.filter((r) => r.auth === 'public')) {
      const method = this.api.root.resourceForPath(route.path).node.tryFindChild(route.method);
      if (!method) continue;
      const reason = `Public by design (DESIGN "HTTP API"): ${publicRoutes.join(', ')} need no token (registration, login and refresh issue tokens; health and the OpenAPI document reveal nothing). Each handler validates its input, and WAF and stage throttling apply.`;
      Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason });
    }
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Request validation is done by every handler with strict zod schemas (unknown fields refused, each field error reported as problem+json); an API Gateway model would duplicate them and answer in another format.',
      },
    );
    const stage = this.api.deploymentStage;
    const executionLogs =
      'Execution logging needs an account-wide API Gateway role and writes to a log group API Gateway creates itself, without KMS encryption or retention; the KMS-encrypted JSON access log records every request (id, caller IP, method, path, status, latency), X-Ray traces each one, and every handler logs its outcome.';
    Validations.of(stage).acknowledge(
      { id: 'AwsSolutions-APIG6', reason: executionLogs },
      { id: 'HIPAA.Security-APIGWExecutionLoggingEnabled', reason: executionLogs },
      {
        id: 'HIPAA.Security-APIGWCacheEnabledAndEncrypted',
        reason: 'No response caching: every answer is per user and marked no-store, so there is no cache to encrypt.',
      },
      {
        id: 'HIPAA.Security-APIGWSSLEnabled',
        reason:
          'The backend is AWS Lambda through the Lambda proxy integration, called by API Gateway over AWS APIs; a client certificate authenticates HTTP backends only.',
      },
    );
  }
}

/** Settings every handler reads, plus what its route touches (names from lambdas/api/runtime.ts). */
function handlerEnvironment(route: RouteSpec, props: HttpApiProps): Record<string, string> {
  const { settings } = props;
  const access = ROUTE_ACCESS[route.id as RouteId] ?? [];
  return {
    ...props.database.lambdaConnectionEnvironment('untxt_api'),
    REGISTRATION_MODE: settings.registrationMode,
    MAX_UPLOAD_BYTES: String(settings.maxUploadBytes),
    MAX_PAGES: String(settings.maxPages),
    MAX_CONCURRENT_TASKS: String(settings.maxConcurrentTasks),
    MAX_PAGES_PER_DAY: String(settings.maxPagesPerDay),
    MAX_BYTES_PER_DAY: String(settings.maxBytesPerDay),
    ...(access.includes('signingKey') ? { JWT_SIGNING_SECRET_ARN: props.signingSecret.secretArn } : {}),
    ...(access.some((a) => a === 'presignUpload' || a === 'readResults' || a === 'eraseDocuments')
      ? { DOCUMENTS_BUCKET: props.documents.bucket.bucketName }
      : {}),
    ...(access.includes('publishEvents') ? { EVENT_BUS_NAME: props.bus.eventBusName } : {}),
    ...(access.includes('issueTickets') ? { TICKETS_TABLE: props.tickets.table.tableName } : {}),
    ...(access.includes('removeConnections') ? { CONNECTIONS_TABLE: props.connections.table.tableName } : {}),
  };
}

/**
 * One JSON object per request: who (IP), what (method, route and path; never the query string or
 * a body), the outcome and the timings. No header values, so no tokens.
 */
function accessLogFormat(): apigw.AccessLogFormat {
  const f = apigw.AccessLogField;
  return apigw.AccessLogFormat.custom(
    JSON.stringify({
      requestId: f.contextRequestId(),
      extendedRequestId: f.contextExtendedRequestId(),
      requestTime: f.contextRequestTimeEpoch(),
      ip: f.contextIdentitySourceIp(),
      method: f.contextHttpMethod(),
      resource: f.contextResourcePath(),
      path: f.contextPath(),
      protocol: f.contextProtocol(),
      status: f.contextStatus(),
      latencyMs: f.contextResponseLatency(),
      integrationLatencyMs: f.contextIntegrationLatency(),
      responseLength: f.contextResponseLength(),
      errorType: f.contextErrorResponseType(),
      authorizerError: f.contextAuthorizerError(),
      wafStatus: f.contextWafResponseCode(),
      xrayTraceId: f.contextXrayTraceId(),
    }),
  );
}

function pascalCase(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
}
