import { EVENT_BUS_NAME, TASK_EVENT_SOURCE, TASK_STATUS_CHANGED } from '../../lib/event-bus';
import { NOTIFICATION_MAX_AGE, NOTIFIER_ASYNC_RETRIES, NOTIFIER_TARGET_RETRIES, TICKET_IDENTITY_SOURCE, WEBSOCKET_STAGE_NAME } from '../../lib/realtime';
import { CONNECTION_TABLE_SCHEMA } from '../../src/realtime/dynamodb-connection-store';
import { NOTIFIED_STATUS_TABLE_SCHEMA } from '../../src/realtime/dynamodb-notified-status-store';
import { actionsOf, functionActions, functionStatements, overlyBroadStatements, resourcesOf, roleStatements, type StatementJson } from './support/iam';
import { synthUntxt } from './support/synth';
import { logicalIdOf, resourceById, type CfnResourceJson } from './support/template';

// Prepare: one synthesis for the whole file, with non-default throttling so the test sees it flow through.
const { stack, template } = synthUntxt({ context: { 'untxt:apiThrottleRateLimit': 21, 'untxt:apiThrottleBurstLimit': 42 } });
const realtime = stack.realtime;
const idOf = (construct: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(stack, construct);
const arnOf = (construct: Parameters<typeof logicalIdOf>[1]) => ({ 'Fn::GetAtt': [idOf(construct), 'Arn'] });
const propsOf = (construct: Parameters<typeof logicalIdOf>[1]) => resourceById(template, idOf(construct)).Properties;
const resourcesOfType = (type: string): [string, CfnResourceJson][] => Object.entries(template.findResources(type)) as [string, CfnResourceJson][];
const apiRef = { Ref: idOf(realtime.api) };
const routes = () => resourcesOfType('AWS::ApiGatewayV2::Route').filter(([, r]) => JSON.stringify(r.Properties.ApiId) === JSON.stringify(apiRef));
const route = (key: string) => routes().find(([, r]) => r.Properties.RouteKey === key)![1].Properties;
const functions = () => ({
  authorizer: realtime.authorizer,
  connect: realtime.connectHandler,
  disconnect: realtime.disconnectHandler,
  ping: realtime.pingHandler,
  notifier: realtime.notifier,
});
const LOG_AND_TRACE = ['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'];

describe('the WebSocket API', () => {
  it('routes on the body\'s action, with $connect, $disconnect and ping only', () => {
    // Act
    const api = propsOf(realtime.api);

    // Assess
    expect(api).toMatchObject({ ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
    expect(routes().map(([, r]) => r.Properties.RouteKey).sort()).toEqual(['$connect', '$disconnect', 'ping']);
  });

  it('puts the ticket authorizer on $connect only, reading the ticket from the query string', () => {
    // Act
    const authorizers = resourcesOfType('AWS::ApiGatewayV2::Authorizer');

    // Assess
    expect(authorizers).toHaveLength(1);
    const [authorizerId, authorizer] = authorizers[0]!;
    expect(authorizer.Properties).toMatchObject({ ApiId: apiRef, AuthorizerType: 'REQUEST', IdentitySource: [TICKET_IDENTITY_SOURCE] });
    expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(idOf(realtime.authorizer));
    expect(authorizer.Properties.AuthorizerResultTtlInSeconds).toBeUndefined();
    expect(route('$connect')).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
    for (const key of ['$disconnect', 'ping']) {
      expect(route(key).AuthorizerId).toBeUndefined();
      expect(route(key).AuthorizationType ?? 'NONE').toBe('NONE');
    }
  });

  it('answers ping through a route response', () => {
    // Act
    const responses = resourcesOfType('AWS::ApiGatewayV2::RouteResponse').map(([, r]) => r.Properties);

    // Assess
    const pingRouteId = routes().find(([, r]) => r.Properties.RouteKey === 'ping')![0];
    expect(responses).toEqual([expect.objectContaining({ ApiId: apiRef, RouteId: { Ref: pingRouteId }, RouteResponseKey: '$default' })]);
  });

  it('has a throttled stage writing JSON access logs, without the query string, to a KMS-encrypted log group', () => {
    // Act
    const stage = propsOf(realtime.stage);

    // Assess
    expect(stage).toMatchObject({
      ApiId: apiRef,
      StageName: WEBSOCKET_STAGE_NAME,
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 21, ThrottlingBurstLimit: 42 },
      AccessLogSettings: { DestinationArn: arnOf(realtime.accessLogs) },
    });
    const format = JSON.parse((stage.AccessLogSettings as { Format: string }).Format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', connectionId: '$context.connectionId', eventType: '$context.eventType', status: '$context.status' });
    expect(JSON.stringify(format)).not.toMatch(/querystring|body|header/i);
    expect(propsOf(realtime.accessLogs).KmsKeyId).toEqual(arnOf(stack.keys.logs));
  });

  it('publishes its wss:// URL and hands it to the ws-ticket route', () => {
    // Act
    const output = template.toJSON().Outputs.WebSocketUrl as { Value: unknown };
    const wsTicket = propsOf(stack.api.functions.wsTicket!).Environment as { Variables: Record<string, unknown> };

    // Assess
    const url = JSON.stringify(output.Value);
    expect(url).toContain('wss://');
    expect(url).toContain(JSON.stringify(apiRef));
    expect(url).toContain(`/${WEBSOCKET_STAGE_NAME}`);
    expect(wsTicket.Variables.WEBSOCKET_URL).toEqual(output.Value);
  });
});

describe('the connections table', () => {
  it('expires items by TTL and finds a user\'s connections through the user index, as the store expects', () => {
    // Act
    const table = propsOf(stack.connections.table);

    // Assess
    expect(table.KeySchema).toEqual([{ AttributeName: CONNECTION_TABLE_SCHEMA.partitionKey, KeyType: 'HASH' }]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: CONNECTION_TABLE_SCHEMA.ttlAttribute, Enabled: true });
    expect(table.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: CONNECTION_TABLE_SCHEMA.userIndexName,
        KeySchema: [{ AttributeName: CONNECTION_TABLE_SCHEMA.userIdAttribute, KeyType: 'HASH' }],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
  });
});

describe('the realtime key', () => {
  const region = { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] };
  const policies = () => Object.values(template.findResources('AWS::IAM::Policy')) as CfnResourceJson[];
  const statementsOf = (policy: CfnResourceJson) => (policy.Properties.PolicyDocument as { Statement: StatementJson[] }).Statement;
  const mentions = (st: StatementJson, key: Parameters<typeof logicalIdOf>[1]) => JSON.stringify(resourcesOf(st)).includes(`"${idOf(key)}"`);

  it('encrypts the tickets, connections and notified-status tables, and rotates', () => {
    // Assess
    for (const table of [stack.tickets.table, stack.connections.table, stack.notifiedStatus.table]) {
      expect(propsOf(table).SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: arnOf(stack.keys.realtime) });
    }
    expect(propsOf(stack.keys.realtime).EnableKeyRotation).toBe(true);
  });

  it('is granted only for use through DynamoDB, by this account', () => {
    // Act
    const grants = policies().flatMap(statementsOf).filter((st) => mentions(st, stack.keys.realtime));

    // Assess
    expect(grants.length).toBeGreaterThan(0);
    for (const st of grants) {
      expect(actionsOf(st).every((a) => a === 'kms:Decrypt' || a === 'kms:GenerateDataKey')).toBe(true);
      expect(st.Condition).toEqual({ StringEquals: { 'kms:ViaService': region, 'kms:CallerAccount': { Ref: 'AWS::AccountId' } } });
    }
  });

  it('leaves every function outside the VPC without any permission on the data key', () => {
    // Act
    const outside = resourcesOfType('AWS::Lambda::Function').filter(([, fn]) => fn.Properties.VpcConfig === undefined);
    const onDataKey = outside.flatMap(([id, fn]) => {
      const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      return roleStatements(template, stack, roleId)
        .filter((st) => JSON.stringify(st).includes(`"${idOf(stack.keys.data)}"`))
        .map(() => id);
    });

    // Assess
    expect(outside.map(([id]) => id)).toEqual(expect.arrayContaining(Object.values(functions()).map((fn) => idOf(fn))));
    expect(onDataKey).toEqual([]);
  });
});

describe('the notified-status table', () => {
  it('is keyed by task id with a TTL, as the store writes it, with point-in-time recovery and the realtime key', () => {
    // Act
    const table = propsOf(stack.notifiedStatus.table);

    // Assess
    expect(table.KeySchema).toEqual([{ AttributeName: NOTIFIED_STATUS_TABLE_SCHEMA.partitionKey, KeyType: 'HASH' }]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: NOTIFIED_STATUS_TABLE_SCHEMA.ttlAttribute, Enabled: true });
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: arnOf(stack.keys.realtime) });
    expect(table.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('is written by the notifier alone, named in its environment, and is not reachable from the VPC', () => {
    // Act
    const writers = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p).includes(`"${idOf(stack.notifiedStatus.table)}"`));
    const env = (propsOf(realtime.notifier).Environment as { Variables: Record<string, unknown> }).Variables;
    const endpoint = JSON.stringify(resourceById(template, idOf(stack.network.dynamoDbEndpoint)).Properties.PolicyDocument);

    // Assess
    expect(writers).toHaveLength(1);
    expect(JSON.stringify(writers[0])).toContain(idOf(realtime.notifier.role!));
    expect(env.NOTIFIED_STATUS_TABLE).toEqual({ Ref: idOf(stack.notifiedStatus.table) });
    expect(endpoint).not.toContain(idOf(stack.notifiedStatus.table));
  });
});

describe('the notifier', () => {
  it('receives Task Status Changed events of the untxt bus through a rule whose target retries and has a dead-letter queue', () => {
    // Act
    const rule = propsOf(realtime.notifierRule);

    // Assess
    expect(rule.EventBusName).toEqual({ Ref: idOf(stack.events.bus) });
    expect(rule.EventPattern).toEqual({ source: [TASK_EVENT_SOURCE], 'detail-type': [TASK_STATUS_CHANGED] });
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        Arn: arnOf(realtime.notifier),
        RetryPolicy: { MaximumRetryAttempts: NOTIFIER_TARGET_RETRIES, MaximumEventAgeInSeconds: NOTIFICATION_MAX_AGE.toSeconds() },
        DeadLetterConfig: { Arn: arnOf(realtime.deliveryDeadLetter) },
      }),
    ]);
  });

  it('sends runs that failed every try to an on-failure destination', () => {
    // Act
    const configs = resourcesOfType('AWS::Lambda::EventInvokeConfig').filter(([, c]) => JSON.stringify(c.Properties.FunctionName) === JSON.stringify({ Ref: idOf(realtime.notifier) }));

    // Assess
    expect(configs).toHaveLength(1);
    expect(configs[0]![1].Properties).toMatchObject({
      MaximumRetryAttempts: NOTIFIER_ASYNC_RETRIES,
      MaximumEventAgeInSeconds: NOTIFICATION_MAX_AGE.toSeconds(),
      DestinationConfig: { OnFailure: { Destination: arnOf(realtime.notifierFailures) } },
    });
  });

  it('has both dead-letter queues encrypted with the queue key, and EventBridge may use that key only for rules of the untxt bus', () => {
    // Act
    const keyPolicy = propsOf(stack.keys.queues).KeyPolicy as { Statement: Array<StatementJson & { Sid?: string; Principal?: unknown }> };

    // Assess
    for (const queue of [realtime.deliveryDeadLetter, realtime.notifierFailures]) {
      expect(propsOf(queue).KmsMasterKeyId).toEqual(arnOf(stack.keys.queues));
    }
    const statement = keyPolicy.Statement.find((s) => JSON.stringify(s.Principal).includes('events.amazonaws.com'));
    expect(actionsOf(statement!).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(JSON.stringify(statement!.Condition!.ArnLike)).toContain(`:rule/${EVENT_BUS_NAME}/*`);
    expect(statement!.Condition!.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
  });

  it('is the only function that may manage connections, and only to POST on this API\'s stage', () => {
    // Act
    const managing = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) => JSON.stringify(p).includes('execute-api:ManageConnections'));
    const statements = functionStatements(template, stack, realtime.notifier).filter((s) => actionsOf(s).includes('execute-api:ManageConnections'));

    // Assess
    expect(managing).toHaveLength(1);
    expect(statements).toHaveLength(1);
    expect(actionsOf(statements[0]!)).toEqual(['execute-api:ManageConnections']);
    const resources = JSON.stringify(resourcesOf(statements[0]!));
    expect(resources).toContain(JSON.stringify(apiRef));
    expect(resources).toContain(`/${WEBSOCKET_STAGE_NAME}/POST/@connections/*`);
  });

  it('posts to the stage\'s https management endpoint', () => {
    // Act
    const env = (propsOf(realtime.notifier).Environment as { Variables: Record<string, unknown> }).Variables;

    // Assess
    const endpoint = JSON.stringify(env.WEBSOCKET_CALLBACK_URL);
    expect(endpoint).toContain('https://');
    expect(endpoint).toContain(JSON.stringify(apiRef));
    expect(endpoint).toContain(`/${WEBSOCKET_STAGE_NAME}`);
    expect(env.CONNECTIONS_TABLE).toEqual({ Ref: idOf(stack.connections.table) });
  });
});

describe('the WebSocket functions', () => {
  it.each(Object.entries(functions()))('%s runs outside the VPC with active tracing', (_name, fn) => {
    // Act
    const props = propsOf(fn);

    // Assess
    expect(props.VpcConfig).toBeUndefined();
    expect(props.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('may do only what each needs', () => {
    // Act
    const actions = Object.fromEntries(Object.entries(functions()).map(([name, fn]) => [name, functionActions(template, stack, fn).filter((a) => !LOG_AND_TRACE.includes(a))]));

    // Assess
    expect(actions).toEqual({
      authorizer: ['dynamodb:DeleteItem', 'kms:Decrypt'],
      connect: ['dynamodb:PutItem', 'kms:Decrypt', 'kms:GenerateDataKey'],
      disconnect: ['dynamodb:DeleteItem', 'kms:Decrypt'],
      ping: [],
      notifier: ['dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'execute-api:ManageConnections', 'kms:Decrypt', 'kms:GenerateDataKey', 'sqs:SendMessage'],
    });
    for (const fn of Object.values(functions())) expect(overlyBroadStatements(functionStatements(template, stack, fn))).toEqual([]);
  });

  it('reach only their own tables: the authorizer the tickets, the others the connections (the notifier through the user index, and its notified statuses)', () => {
    // Act
    const dynamoResources = (fn: Parameters<typeof functionStatements>[2]) =>
      functionStatements(template, stack, fn)
        .filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')))
        .map((s) => [actionsOf(s), JSON.stringify(resourcesOf(s))] as const);

    // Assess
    const tickets = JSON.stringify(arnOf(stack.tickets.table));
    const connections = JSON.stringify(arnOf(stack.connections.table));
    const notified = JSON.stringify(arnOf(stack.notifiedStatus.table));
    expect(dynamoResources(realtime.authorizer).every(([, r]) => r.includes(tickets) && !r.includes(connections))).toBe(true);
    for (const fn of [realtime.connectHandler, realtime.disconnectHandler]) {
      expect(dynamoResources(fn).every(([, r]) => r.includes(connections) && !r.includes(tickets) && !r.includes(notified))).toBe(true);
    }
    const notifier = dynamoResources(realtime.notifier);
    expect(notifier.filter(([a]) => a.includes('dynamodb:UpdateItem'))).toEqual([[['dynamodb:UpdateItem'], `[${notified}]`]]);
    expect(notifier.filter(([a]) => !a.includes('dynamodb:UpdateItem')).every(([, r]) => r.includes(connections) && !r.includes(tickets) && !r.includes(notified))).toBe(true);
    const query = notifier.find(([a]) => a.includes('dynamodb:Query'))!;
    expect(query[1]).toContain(`/index/${CONNECTION_TABLE_SCHEMA.userIndexName}`);
  });
});
