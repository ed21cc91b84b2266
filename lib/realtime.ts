import * as path from 'node:path';
import { Duration, Stack, Validations, type CfnElement, type RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ConnectionsTable } from './connections-table';
import { EVENT_BUS_NAME, TASK_EVENT_SOURCE, TASK_STATUS_CHANGED } from './event-bus';
import type { Monitoring } from './monitoring';
import { createNodeFunction, invokedSynchronously, type NodeFunctionProps } from './node-function';
import type { NotifiedStatusTable } from './notified-status-table';
import { encryptedQueue, grantSendToEncryptedQueue } from './queues';
import type { TicketsTable } from './tickets-table';

const REPO_ROOT = path.join(__dirname, '..');

/** The URL is `wss://{api-id}.execute-api.{region}.amazonaws.com/prod`. */
export const WEBSOCKET_STAGE_NAME = 'prod';
/** The identity source of the `$connect` authorizer: no ticket, no invocation (API Gateway answers 401). */
export const TICKET_IDENTITY_SOURCE = 'route.request.querystring.ticket';

/**
 * A status message older than this is not worth delivering: the client has reconnected and read
 * the task over HTTP by then. Bounds both EventBridge's retries and Lambda's asynchronous ones.
 */
export const NOTIFICATION_MAX_AGE = Duration.minutes(15);
/** EventBridge's tries to invoke the notifier (throttled or unavailable Lambda) before the DLQ. */
export const NOTIFIER_TARGET_RETRIES = 8;
/** Lambda's retries of a notifier run that threw, before the on-failure destination. */
export const NOTIFIER_ASYNC_RETRIES = 2;

export interface RealtimeProps {
  readonly connections: ConnectionsTable;
  readonly tickets: TicketsTable;
  /** The notifier's seq rule: the last status passed on per task. */
  readonly notifiedStatus: NotifiedStatusTable;
  readonly bus: events.IEventBus;
  /** Encrypts the notifier's dead-letter queues (the messaging key). */
  readonly queueKey: kms.IKey;
  readonly monitoring: Monitoring;
  /** Stage throttling: messages and handshakes per second, and the burst. */
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  readonly deadLetterRetentionDays: number;
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * Real-time task status (DESIGN "Events and notifications"): an API Gateway WebSocket API whose
 * `$connect` is guarded by a REQUEST authorizer that uses up the single-use ticket, `$disconnect`
 * and a `ping` route; and the notifier, on a rule of the `untxt` bus, posting each task status to
 * its owner's connections through the stage's management API. Every function runs outside the
 * VPC (the management endpoint has no VPC endpoint) and handles ids and states only.
 */
export class Realtime extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly accessLogs: logs.ILogGroup;
  readonly authorizer: NodejsFunction;
  readonly connectHandler: NodejsFunction;
  readonly disconnectHandler: NodejsFunction;
  readonly pingHandler: NodejsFunction;
  readonly notifier: NodejsFunction;
  readonly notifierRule: events.Rule;
  /** Events EventBridge could not hand to the notifier. */
  readonly deliveryDeadLetter: sqs.IQueue;
  /** Notifier runs that failed every try (Lambda's on-failure destination). */
  readonly notifierFailures: sqs.IQueue;

  constructor(scope: Construct, id: string, props: RealtimeProps) {
    super(scope, id);

    this.authorizer = this.newFunction('TicketAuthorizerFunction', props, {
      entry: 'ws-authorizer.ts',
      description: 'untxt WebSocket $connect authorizer: uses up the single-use ticket',
      environment: { TICKETS_TABLE: props.tickets.table.tableName },
    });
    props.tickets.grantRedeem(this.authorizer);
    this.connectHandler = this.newFunction('ConnectFunction', props, {
      entry: 'connect.ts',
      description: 'untxt WebSocket $connect: stores the connection for the ticket\'s user',
      environment: { CONNECTIONS_TABLE: props.connections.table.tableName },
    });
    props.connections.grantConnect(this.connectHandler);
    this.disconnectHandler = this.newFunction('DisconnectFunction', props, {
      entry: 'disconnect.ts',
      description: 'untxt WebSocket $disconnect: forgets the connection',
      environment: { CONNECTIONS_TABLE: props.connections.table.tableName },
    });
    props.connections.grantDisconnect(this.disconnectHandler);
    this.pingHandler = this.newFunction('PingFunction', props, {
      entry: 'ping.ts',
      description: 'untxt WebSocket ping route: answers pong',
    });
    for (const fn of [this.authorizer, this.connectHandler, this.disconnectHandler, this.pingHandler]) {
      acknowledgeWebSocketHandler(fn, props.throttleBurstLimit);
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      encryptionKey: props.logKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.logRemovalPolicy,
    });
    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: 'untxt-ws',
      description: 'untxt task status over WebSocket',
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('Connect', this.connectHandler),
        authorizer: new WebSocketLambdaAuthorizer('TicketAuthorizer', this.authorizer, { identitySource: [TICKET_IDENTITY_SOURCE] }),
      },
      disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('Disconnect', this.disconnectHandler) },
    });
    this.api.addRoute('ping', { integration: new WebSocketLambdaIntegration('Ping', this.pingHandler), returnResponse: true });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: WEBSOCKET_STAGE_NAME,
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit },
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(this.accessLogs), format: accessLogFormat() },
    });
    this.acknowledgeApiFindings();

    this.deliveryDeadLetter = this.newDeadLetterQueue('NotifierDeliveryDeadLetter', props, 'task status events EventBridge could not hand to the notifier');
    this.notifierFailures = this.newDeadLetterQueue('NotifierFailures', props, 'notifier runs that failed every try');
    allowEventBridgeDeadLetters(props.queueKey);
    this.notifier = this.newFunction('NotifierFunction', props, {
      entry: 'notifier.ts',
      description: 'untxt notifier: posts task status changes to the owner\'s WebSocket connections',
      // Fan-out with bounded retries per connection; well under a minute even when throttled.
      timeout: Duration.seconds(60),
      environment: {
        CONNECTIONS_TABLE: props.connections.table.tableName,
        NOTIFIED_STATUS_TABLE: props.notifiedStatus.table.tableName,
        WEBSOCKET_CALLBACK_URL: this.stage.callbackUrl,
      },
      retryAttempts: NOTIFIER_ASYNC_RETRIES,
      maxEventAge: NOTIFICATION_MAX_AGE,
      onFailure: sqsDestination(this.notifierFailures, props.queueKey),
    });
    props.connections.grantNotify(this.notifier);
    props.notifiedStatus.grantClaim(this.notifier);
    this.grantPostToConnections(this.notifier);
    this.notifierRule = new events.Rule(this, 'NotifierRule', {
      eventBus: props.bus,
      description: 'Task status changes to the WebSocket notifier',
      eventPattern: { source: [TASK_EVENT_SOURCE], detailType: [TASK_STATUS_CHANGED] },
      targets: [
        new targets.LambdaFunction(this.notifier, {
          deadLetterQueue: this.deliveryDeadLetter,
          retryAttempts: NOTIFIER_TARGET_RETRIES,
          maxEventAge: NOTIFICATION_MAX_AGE,
        }),
      ],
    });
    this.acknowledgeNotifier();

    props.monitoring.alarmOnDepth('NotifierDeliveryDeadLetterDepth', this.deliveryDeadLetter, 'EventBridge could not invoke the WebSocket notifier');
    props.monitoring.alarmOnDepth('NotifierFailuresDepth', this.notifierFailures, 'The WebSocket notifier failed every try');
  }

  /** `wss://{api-id}.execute-api.{region}.amazonaws.com/prod`: what the ws-ticket route hands out. */
  get url(): string {
    return this.stage.url;
  }

  /**
   * `execute-api:ManageConnections` for POST on this API's stage only: the notifier posts to
   * connections; it never reads (GET) or closes (DELETE) one.
   */
  private grantPostToConnections(grantee: iam.IGrantable): void {
    const apiArn = Stack.of(this).formatArn({ service: 'execute-api', resource: this.api.apiId });
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: [`${apiArn}/${this.stage.stageName}/POST/@connections/*`],
      }),
    );
    const apiId = Stack.of(this).getLogicalId(this.api.node.defaultChild as CfnElement);
    Validations.of(grantee.grantPrincipal as iam.IRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/${this.stage.stageName}/POST/@connections/*]`,
      reason:
        'PostToConnection on this WebSocket API\'s stage only; the wildcard stands for connection ids, which exist only at run time. No GET or DELETE on connections.',
    });
  }

  private newFunction(
    id: string,
    props: RealtimeProps,
    fnProps: Omit<NodeFunctionProps, 'entry' | 'logKey' | 'logRetentionDays' | 'logRemovalPolicy'> & { entry: string },
  ): NodejsFunction {
    const fn = createNodeFunction(this, id, {
      memorySize: 256,
      timeout: Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      ...fnProps,
      entry: path.join(REPO_ROOT, 'lambdas', 'realtime', fnProps.entry),
      logKey: props.logKey,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    Validations.of(fn).acknowledge({
      id: 'HIPAA.Security-LambdaInsideVPC',
      reason:
        'Runs outside the VPC by design (DESIGN "Where things run"): the WebSocket management API has no VPC endpoint, and the function handles connection ids, user ids, task ids and states only, never document content or file names; it reaches DynamoDB and API Gateway over TLS with its own narrowly scoped role.',
    });
    return fn;
  }

  private newDeadLetterQueue(id: string, props: RealtimeProps, what: string): sqs.Queue {
    const queue = encryptedQueue(this, id, props.queueKey, { retentionPeriod: Duration.days(props.deadLetterRetentionDays) });
    const reason = `This queue is itself a dead-letter queue (${what}); it is alarmed, and its messages (ids and states only) are for inspection: a client re-reads task state over HTTP on reconnect.`;
    Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason }, { id: 'Serverless-SQSRedrivePolicy', reason });
    return queue;
  }

  private acknowledgeApiFindings(): void {
    for (const routeKey of ['$disconnect', 'ping']) {
      const route = this.api.node.tryFindChild(`${routeKey}-Route`);
      if (!route) continue;
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'WebSocket APIs authorize once, on $connect (here with the single-use ticket); API Gateway only routes later messages and the disconnect of a connection that was authorized, and does not allow an authorizer on other routes.',
      });
    }
  }

  private acknowledgeNotifier(): void {
    const onFailure =
      'Failed asynchronous runs go to an on-failure destination (NotifierFailures, SQS with KMS, alarmed), which records the event and the error; a dead-letter queue as well would receive each failure twice.';
    Validations.of(this.notifier).acknowledge(
      { id: 'HIPAA.Security-LambdaDLQ', reason: onFailure },
      { id: 'Serverless-LambdaDLQ', reason: onFailure },
      {
        id: 'HIPAA.Security-LambdaConcurrency',
        reason:
          'Invoked once per task status change; its concurrency follows the pipeline\'s throughput, which the queues and the GPU fleet bound. Reserving concurrency would throttle EventBridge deliveries into retries and take from the account pool.',
      },
    );
  }
}

/**
 * Lambda's on-failure destination on an encrypted queue, granting exactly what sending needs
 * (SendMessage, and the key to encrypt with) rather than CDK's SqsDestination grant, which adds
 * wildcard KMS actions (ReEncrypt*, GenerateDataKey*) that SQS never uses for a producer.
 */
function sqsDestination(queue: sqs.IQueue, key: kms.IKey): lambda.IDestination {
  return {
    bind: (_scope, fn) => {
      grantSendToEncryptedQueue(fn, queue, key);
      return { destination: queue.queueArn };
    },
  };
}

/** Synchronous handlers behind the WebSocket API. */
function acknowledgeWebSocketHandler(fn: NodejsFunction, burstLimit: number): void {
  Validations.of(fn).acknowledge(
    ...invokedSynchronously('by API Gateway (WebSocket routes and the $connect authorizer)', 'the client receives the error'),
    {
      id: 'HIPAA.Security-LambdaConcurrency',
      reason: `Bounded by the WebSocket stage throttle (burst ${burstLimit}); reserving concurrency would take it from the account pool and fail deployments in accounts with a low quota.`,
    },
  );
}

/**
 * EventBridge encrypts what it puts on the notifier's delivery DLQ with the queue key. Limited to
 * rules of the `untxt` bus in this account (named by pattern: naming the rule's ARN would make the
 * key depend on the rule, and the rule on the key through its DLQ).
 */
function allowEventBridgeDeadLetters(key: kms.IKey): void {
  const stack = Stack.of(key);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'EventBridgeDeadLettersOfTheTaskBusRules',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'events', resource: 'rule', resourceName: `${EVENT_BUS_NAME}/*` }) },
      },
    }),
  );
}

/**
 * One JSON object per WebSocket event: connection, event type (CONNECT, MESSAGE, DISCONNECT),
 * route, status, caller IP and timings. Never the query string (it holds the ticket) or a body.
 */
function accessLogFormat(): apigw.AccessLogFormat {
  return apigw.AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      extendedRequestId: '$context.extendedRequestId',
      requestTime: '$context.requestTimeEpoch',
      connectionId: '$context.connectionId',
      eventType: '$context.eventType',
      routeKey: '$context.routeKey',
      status: '$context.status',
      ip: '$context.identity.sourceIp',
      integrationLatencyMs: '$context.integrationLatency',
      authorizerStatus: '$context.authorizer.status',
      authorizerError: '$context.authorizer.error',
      error: '$context.error.message',
      userId: '$context.authorizer.userId',
    }),
  );
}
