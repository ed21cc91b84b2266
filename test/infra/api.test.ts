import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import { ROUTES, type RouteId } from '../../lambdas/api/routes';
import { AUTHORIZER_CACHE_TTL, ROUTE_ACCESS } from '../../lib/api';
import { PROBLEM_GATEWAY_RESPONSES } from '../../lib/api-gateway-responses';
import { MANAGED_RULE_GROUPS } from '../../lib/api-waf';
import { TICKET_TABLE_SCHEMA } from '../../src/realtime/tickets/dynamodb-ticket-store';
import { actionsOf, functionActions, functionStatements, overlyBroadStatements, resourcesOf } from './support/iam';
import { synthUntxt } from './support/synth';
import { logicalIdOf, resourceById, type CfnResourceJson } from './support/template';

// Prepare: one synthesis for the whole file, with non-default settings so the tests see them flow through.
const { stack, template } = synthUntxt({
  context: {
    'untxt:apiThrottleRateLimit': 77,
    'untxt:apiThrottleBurstLimit': 33,
    'untxt:apiWafRateLimit': 1234,
    'untxt:apiMaxBodyKilobytes': 40,
    'untxt:registrationMode': 'approval',
    'untxt:maxUploadMegabytes': 100,
  },
});
const api = stack.api;
const idOf = (construct: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(stack, construct);
const arnOf = (construct: Parameters<typeof logicalIdOf>[1]) => ({ 'Fn::GetAtt': [idOf(construct), 'Arn'] });
const resourcesOfType = (type: string): [string, CfnResourceJson][] =>
  Object.entries(template.findResources(type)) as [string, CfnResourceJson][];
const fnOf = (id: RouteId) => api.functions[id]!;
const fnProps = (id: RouteId) => resourceById(template, idOf(fnOf(id))).Properties;
const methodOf = (route: (typeof ROUTES)[number]) => {
  const method = api.api.root.resourceForPath(route.path).node.findChild(route.method) as apigw.Method;
  return resourceById(template, idOf(method)).Properties;
};
const stageProps = () => resourceById(template, idOf(api.api.deploymentStage)).Properties;

describe('the API routes', () => {
  it('have one method and one function for every route of the manifest', () => {
    // Assess
    expect(Object.keys(api.functions).sort()).toEqual(ROUTES.map((r) => r.id).sort());
    for (const route of ROUTES) expect(methodOf(route).HttpMethod).toBe(route.method);
  });

  it.each(ROUTES.filter((r) => r.auth !== 'public').map((r) => [r.id, r] as const))('%s goes through the Lambda authorizer', (_id, route) => {
    // Act
    const method = methodOf(route);

    // Assess
    expect(method.AuthorizationType).toBe('CUSTOM');
    expect(method.AuthorizerId).toEqual({ Ref: expect.stringMatching(/^ApiTokenAuthorizer/) });
  });

  it.each(ROUTES.filter((r) => r.auth === 'public').map((r) => [r.id, r] as const))('%s is public, without an authorizer', (_id, route) => {
    // Act
    const method = methodOf(route);

    // Assess
    expect(method.AuthorizationType).toBe('NONE');
    expect(method.AuthorizerId).toBeUndefined();
  });

  it('run in the isolated subnets behind the handlers security group, connecting as untxt_api', () => {
    // Assess
    for (const route of ROUTES) {
      const props = fnProps(route.id);
      expect(props.VpcConfig).toMatchObject({ SecurityGroupIds: [{ 'Fn::GetAtt': [idOf(api.handlerSecurityGroup), 'GroupId'] }] });
      expect((props.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({ DB_USER: 'untxt_api' });
      expect(props.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('are invoked by API Gateway only for their own method and path of this stage, never from the console test', () => {
    // Act
    const permissions = resourcesOfType('AWS::Lambda::Permission').filter(([, p]) =>
      Object.values(api.functions).some((fn) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify(arnOf(fn))),
    );

    // Assess
    expect(permissions).toHaveLength(ROUTES.length);
    for (const [, p] of permissions) {
      expect(JSON.stringify(p.Properties.SourceArn)).not.toContain('test-invoke-stage');
      expect(JSON.stringify(p.Properties.SourceArn)).toContain(JSON.stringify({ Ref: idOf(api.api.deploymentStage) }));
    }
  });

  it('hand the settings to the handlers as environment variables', () => {
    // Act
    const env = (fnProps('createTask').Environment as { Variables: Record<string, unknown> }).Variables;

    // Assess
    expect(env).toMatchObject({ REGISTRATION_MODE: 'approval', MAX_UPLOAD_BYTES: String(100 * 1024 * 1024), MAX_PAGES: '3000' });
    expect(env.DOCUMENTS_BUCKET).toEqual({ Ref: idOf(stack.storage.bucket) });
  });

  it('give the signing secret only to the routes that issue tokens', () => {
    // Act
    const withSecret = ROUTES.filter((r) => functionActions(template, stack, fnOf(r.id)).includes('secretsmanager:GetSecretValue')).map((r) => r.id);
    const withArn = ROUTES.filter((r) => 'JWT_SIGNING_SECRET_ARN' in (fnProps(r.id).Environment as { Variables: object }).Variables).map((r) => r.id);

    // Assess
    expect(withSecret.sort()).toEqual(['login', 'refresh']);
    expect(withArn.sort()).toEqual(['login', 'refresh']);
    for (const id of withSecret) expect(functionActions(template, stack, fnOf(id))).not.toContain('secretsmanager:PutSecretValue');
  });
});

describe('the API handler roles', () => {
  it.each(ROUTES.map((r) => [r.id] as const))('%s has no wildcard action and no `*` resource beyond ENI and X-Ray actions', (id) => {
    // Act
    const broad = overlyBroadStatements(functionStatements(template, stack, fnOf(id)));

    // Assess
    expect(broad).toEqual([]);
  });

  it('let only createTask write objects, and only under uploads/, with the data key through S3', () => {
    // Act
    const writers = ROUTES.filter((r) => functionActions(template, stack, fnOf(r.id)).includes('s3:PutObject')).map((r) => r.id);
    const put = functionStatements(template, stack, fnOf('createTask')).find((st) => actionsOf(st).includes('s3:PutObject'))!;
    const kms = functionStatements(template, stack, fnOf('createTask')).find((st) => actionsOf(st).includes('kms:GenerateDataKey'))!;

    // Assess
    expect(writers).toEqual(['createTask']);
    expect(actionsOf(put)).toEqual(['s3:PutObject']);
    expect(JSON.stringify(resourcesOf(put))).toContain('/uploads/*');
    expect(JSON.stringify(resourcesOf(put))).not.toContain('/results/');
    expect(kms.Resource).toEqual(arnOf(stack.keys.data));
    expect(kms.Condition?.StringEquals?.['kms:ViaService']).toBeDefined();
  });

  it('let only getResult and getPageImage read objects, and only under results/', () => {
    // Act
    const readers = ROUTES.filter((r) => functionActions(template, stack, fnOf(r.id)).includes('s3:GetObject')).map((r) => r.id);
    const gets = readers.map((id) => functionStatements(template, stack, fnOf(id)).find((st) => actionsOf(st).includes('s3:GetObject'))!);

    // Assess
    expect(readers.sort()).toEqual(['getPageImage', 'getResult']);
    for (const get of gets) {
      expect(JSON.stringify(resourcesOf(get))).toContain('/results/*');
      expect(JSON.stringify(resourcesOf(get))).not.toContain('/uploads/');
    }
  });

  it('let a route list the bucket only under the prefix it reads or erases', () => {
    // Act
    const listings = ROUTES.flatMap((r) =>
      functionStatements(template, stack, fnOf(r.id)).flatMap((st) =>
        actionsOf(st)
          .filter((a) => a.startsWith('s3:List'))
          .map((a) => [r.id, a, st.Condition] as const),
      ),
    );

    // Assess
    expect(listings).toEqual([
      ['getResult', 's3:ListBucket', { StringLike: { 's3:prefix': ['results/*'] } }],
      ['getPageImage', 's3:ListBucket', { StringLike: { 's3:prefix': ['results/*'] } }],
      ['deleteTask', 's3:ListBucketVersions', { StringLike: { 's3:prefix': ['uploads/*', 'results/*'] } }],
    ]);
  });

  it('let only deleteTask erase object versions, listing versions only under uploads/ and results/', () => {
    // Act
    const erasers = ROUTES.filter((r) => functionActions(template, stack, fnOf(r.id)).includes('s3:DeleteObjectVersion')).map((r) => r.id);
    const list = functionStatements(template, stack, fnOf('deleteTask')).find((st) => actionsOf(st).includes('s3:ListBucketVersions'))!;

    // Assess
    expect(erasers).toEqual(['deleteTask']);
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['uploads/*', 'results/*'] } });
    expect(functionActions(template, stack, fnOf('deleteTask'))).toContain('events:PutEvents');
  });

  it('let only wsTicket put tickets and adminDisableUser remove connections, and nothing else on DynamoDB', () => {
    // Act
    const dynamo = ROUTES.filter((r) => functionActions(template, stack, fnOf(r.id)).some((a) => a.startsWith('dynamodb:'))).map((r) => r.id);

    // Assess
    expect(dynamo.sort()).toEqual(['adminDisableUser', 'wsTicket']);
    expect(functionActions(template, stack, fnOf('wsTicket')).filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:PutItem']);
  });

  it('let adminDisableUser find a user\'s connections through the user index and delete them, with the table named in its environment', () => {
    // Act
    const statements = functionStatements(template, stack, fnOf('adminDisableUser'));
    const dynamo = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')));
    const kms = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('kms:')));
    const env = (fnProps('adminDisableUser').Environment as { Variables: Record<string, unknown> }).Variables;

    // Assess
    const table = arnOf(stack.connections.table);
    expect(dynamo.map((st) => [actionsOf(st), resourcesOf(st)])).toEqual([
      [['dynamodb:Query'], [{ 'Fn::Join': ['', [table, `/index/${stack.connections.userIndexName}`]] }]],
      [['dynamodb:DeleteItem'], [table]],
    ]);
    expect(kms).toEqual([
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Resource: arnOf(stack.keys.realtime),
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] }, 'kms:CallerAccount': { Ref: 'AWS::AccountId' } } },
      }),
    ]);
    expect(env.CONNECTIONS_TABLE).toEqual({ Ref: idOf(stack.connections.table) });
    for (const other of ROUTES.filter((r) => r.id !== 'adminDisableUser')) {
      expect((fnProps(other.id).Environment as { Variables: Record<string, unknown> }).Variables.CONNECTIONS_TABLE).toBeUndefined();
    }
  });

  it('let a route connect to the database only when its access list says so', () => {
    // Act
    const connecting = ROUTES.filter((r) => functionActions(template, stack, fnOf(r.id)).includes('rds-db:connect')).map((r) => r.id);

    // Assess
    expect(connecting.sort()).toEqual(ROUTES.filter((r) => ROUTE_ACCESS[r.id].includes('database')).map((r) => r.id).sort());
    expect(connecting).not.toContain('openapi');
  });
});

describe('the authorizer', () => {
  const authorizer = () => resourcesOfType('AWS::ApiGateway::Authorizer')[0]![1].Properties;

  it('is a TOKEN authorizer on the Authorization header, refusing non-JWT values before it runs', () => {
    // Assess
    expect(resourcesOfType('AWS::ApiGateway::Authorizer')).toHaveLength(1);
    expect(authorizer()).toMatchObject({ Type: 'TOKEN', IdentitySource: 'method.request.header.Authorization' });
    const regex = new RegExp(authorizer().IdentityValidationExpression as string);
    expect(regex.test('Bearer aaa.bbb.ccc')).toBe(true);
    expect(regex.test('Basic dXNlcjpwYXNz')).toBe(false);
  });

  it('has its answer cached for five minutes', () => {
    // Assess
    expect(authorizer().AuthorizerResultTtlInSeconds).toBe(AUTHORIZER_CACHE_TTL.toSeconds());
    expect(AUTHORIZER_CACHE_TTL.toSeconds()).toBe(300);
  });

  it('runs outside the VPC with the public key set from the provisioning resource, and may do nothing but log and trace', () => {
    // Act
    const props = resourceById(template, idOf(api.authorizer)).Properties;
    const actions = functionActions(template, stack, api.authorizer);

    // Assess
    expect(props.VpcConfig).toBeUndefined();
    expect((props.Environment as { Variables: Record<string, unknown> }).Variables.JWT_PUBLIC_JWKS).toEqual({
      'Fn::GetAtt': [idOf(stack.provisioning.node.findChild('Resource')), 'PublicJwks'],
    });
    expect(actions.filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:'))).toEqual([]);
  });
});

describe('the signing key and the first admin', () => {
  const secret = (construct: Parameters<typeof logicalIdOf>[1]) => resourceById(template, idOf(construct)).Properties;

  it('keep no key material or password in the template', () => {
    // Act
    const text = JSON.stringify(template.toJSON());

    // Assess
    expect(secret(stack.provisioning.signingSecret).SecretString).toBeUndefined();
    expect(secret(stack.provisioning.firstAdminSecret).SecretString).toBeUndefined();
    expect(text).not.toMatch(/kty|"OKP"|PRIVATE KEY/);
  });

  it('are KMS-encrypted secrets, the admin password generated by Secrets Manager', () => {
    // Assess
    expect(secret(stack.provisioning.signingSecret).KmsKeyId).toEqual(arnOf(stack.keys.data));
    expect(secret(stack.provisioning.firstAdminSecret)).toMatchObject({
      KmsKeyId: arnOf(stack.keys.data),
      GenerateSecretString: { GenerateStringKey: 'password', SecretStringTemplate: JSON.stringify({ email: 'admin@untxt.local' }) },
    });
  });

  it('are provisioned after the migrations by a function in the VPC that may write only these two secrets', () => {
    // Act
    const resource = resourcesOfType('Custom::UntxtApiProvisioning');
    const fn = stack.provisioning.function;
    const puts = functionStatements(template, stack, fn).filter((st) => actionsOf(st).includes('secretsmanager:PutSecretValue'));

    // Assess
    expect(resource).toHaveLength(1);
    expect(resource[0]![1].DependsOn).toEqual(expect.arrayContaining([idOf(stack.migrations.trigger)]));
    expect(resourceById(template, idOf(fn)).Properties.VpcConfig).toBeDefined();
    expect(puts.flatMap(resourcesOf)).toEqual(
      expect.arrayContaining([{ Ref: idOf(stack.provisioning.signingSecret) }, { Ref: idOf(stack.provisioning.firstAdminSecret) }]),
    );
    expect(puts.flatMap(resourcesOf)).toHaveLength(2);
  });

  it('decrypt with the data key only through Secrets Manager and for the named secret', () => {
    // Act
    const kms = functionStatements(template, stack, fnOf('login')).filter((st) => actionsOf(st).includes('kms:Decrypt'));

    // Assess
    expect(kms).toHaveLength(1);
    expect(kms[0]!.Condition?.StringEquals).toEqual({
      'kms:ViaService': expect.anything(),
      'kms:EncryptionContext:SecretARN': { Ref: idOf(stack.provisioning.signingSecret) },
    });
  });
});

describe('the API stage', () => {
  it('throttles every method with the configured rate and burst', () => {
    // Assess
    expect(stageProps().MethodSettings).toEqual([
      expect.objectContaining({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 77, ThrottlingBurstLimit: 33 }),
    ]);
  });

  it('traces requests with X-Ray', () => {
    // Assess
    expect(stageProps().TracingEnabled).toBe(true);
  });

  it('writes JSON access logs with request id, caller IP, method, path, status and latency, and no bodies or headers', () => {
    // Act
    const setting = stageProps().AccessLogSetting as { DestinationArn: unknown; Format: string };
    const format = JSON.parse(setting.Format) as Record<string, string>;

    // Assess
    expect(JSON.stringify(setting.DestinationArn)).toContain(JSON.stringify({ Ref: idOf(api.accessLogs) }));
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      method: '$context.httpMethod',
      path: '$context.path',
      status: '$context.status',
      latencyMs: '$context.responseLatency',
    });
    expect(setting.Format).not.toMatch(/body|header|authorization|querystring/i);
  });

  it('keeps its access logs in a log group encrypted with the logs key', () => {
    // Assess
    expect(resourceById(template, idOf(api.accessLogs)).Properties).toMatchObject({ KmsKeyId: arnOf(stack.keys.logs), RetentionInDays: 365 });
  });

  it('has no API Gateway request validator: handlers validate with zod', () => {
    // Assess
    template.resourceCountIs('AWS::ApiGateway::RequestValidator', 0);
  });

  it('is published as the ApiUrl output', () => {
    // Assess
    expect(Object.keys(template.findOutputs('ApiUrl'))).toEqual(['ApiUrl']);
    // The REST API's own unnamed endpoint output is removed in favour of ApiUrl.
    expect(Object.keys(template.findOutputs('*')).filter((id) => id.startsWith('ApiRestApi'))).toEqual([]);
  });
});

describe('the gateway responses', () => {
  const responses = () => resourcesOfType('AWS::ApiGateway::GatewayResponse').map(([, r]) => r.Properties);

  it.each(['DEFAULT_4XX', 'DEFAULT_5XX', 'UNAUTHORIZED', 'ACCESS_DENIED', 'THROTTLED', 'WAF_FILTERED'])('answer %s as problem+json with a stable code', (type) => {
    // Act
    const response = responses().find((r) => r.ResponseType === type)!;
    const body = JSON.parse((response.ResponseTemplates as Record<string, string>)['application/json']!) as Record<string, unknown>;

    // Assess
    expect(response.ResponseParameters).toMatchObject({ 'gatewayresponse.header.Content-Type': "'application/problem+json'" });
    expect(body).toMatchObject({ type: 'about:blank', code: expect.stringMatching(/^[a-z_]+$/), requestId: '$context.requestId' });
    expect(body.code).toBe(PROBLEM_GATEWAY_RESPONSES.find((r) => r.type.responseType === type)!.code);
  });

  it('answer an unknown path with 404 not_found instead of a misleading 403', () => {
    // Act
    const response = responses().find((r) => r.ResponseType === 'MISSING_AUTHENTICATION_TOKEN')!;

    // Assess
    expect(response.StatusCode).toBe('404');
  });
});

describe('the WAF web ACL', () => {
  const acl = () => resourcesOfType('AWS::WAFv2::WebACL')[0]![1].Properties;
  const rules = () => acl().Rules as { Name: string; Statement: Record<string, Record<string, unknown>>; Action?: object }[];

  it('is regional and associated with the API stage', () => {
    // Act
    const associations = resourcesOfType('AWS::WAFv2::WebACLAssociation');

    // Assess
    expect(acl().Scope).toBe('REGIONAL');
    expect(associations).toHaveLength(1);
    expect(JSON.stringify(associations[0]![1].Properties.ResourceArn)).toContain(idOf(api.api));
    expect(JSON.stringify(associations[0]![1].Properties.ResourceArn)).toContain('/stages/');
  });

  it('applies the AWS managed rule groups for common exploits, known bad inputs and IP reputation', () => {
    // Act
    const groups = rules().flatMap((r) => (r.Statement.ManagedRuleGroupStatement ? [r.Statement.ManagedRuleGroupStatement.Name] : []));

    // Assess
    expect(groups.sort()).toEqual([...MANAGED_RULE_GROUPS].sort());
  });

  it('answers a client IP above the configured rate with 429, a problem document and Retry-After of the window', () => {
    // Act
    const rule = rules().find((r) => r.Statement.RateBasedStatement)!;
    const bodies = acl().CustomResponseBodies as Record<string, { ContentType: string; Content: string }>;

    // Assess
    expect(rule.Statement.RateBasedStatement).toMatchObject({ Limit: 1234, AggregateKeyType: 'IP', EvaluationWindowSec: 300 });
    expect(rule.Action).toEqual({
      Block: {
        CustomResponse: {
          ResponseCode: 429,
          CustomResponseBodyKey: 'rate_limited',
          ResponseHeaders: expect.arrayContaining([{ Name: 'Retry-After', Value: '300' }]),
        },
      },
    });
    expect(bodies.rate_limited!.ContentType).toBe('APPLICATION_JSON');
    expect(JSON.parse(bodies.rate_limited!.Content)).toMatchObject({ status: 429, code: 'rate_limited', title: 'Too Many Requests' });
  });

  it('leaves every other block to the 403 request_blocked gateway response', () => {
    // Act
    const others = rules().filter((r) => !r.Statement.RateBasedStatement);

    // Assess
    expect(others.length).toBeGreaterThan(0);
    for (const rule of others) expect(JSON.stringify(rule)).not.toContain('CustomResponse');
    expect(acl().DefaultAction).toEqual({ Allow: {} });
  });

  it('blocks bodies above the configured size, and bodies too large to inspect', () => {
    // Act
    const rule = rules().find((r) => r.Statement.SizeConstraintStatement)!;

    // Assess
    expect(rule.Action).toEqual({ Block: {} });
    expect(rule.Statement.SizeConstraintStatement).toMatchObject({
      ComparisonOperator: 'GT',
      Size: 40 * 1024,
      FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
    });
    expect(acl().AssociationConfig).toEqual({ RequestBody: { API_GATEWAY: { DefaultSizeInspectionLimit: 'KB_48' } } });
  });

  it('logs to an encrypted log group with the authorization header redacted', () => {
    // Act
    const logging = resourcesOfType('AWS::WAFv2::LoggingConfiguration')[0]![1].Properties;

    // Assess
    expect(logging.RedactedFields).toEqual(expect.arrayContaining([{ SingleHeader: { Name: 'authorization' } }]));
    expect(resourceById(template, idOf(api.waf.logGroup)).Properties.KmsKeyId).toEqual(arnOf(stack.keys.logs));
  });
});

describe('the ws-ticket table', () => {
  const table = () => resourceById(template, idOf(stack.tickets.table)).Properties;

  it('is keyed by the ticket hash with a TTL, as the ticket store writes it', () => {
    // Assess
    expect(table().KeySchema).toEqual([{ AttributeName: TICKET_TABLE_SCHEMA.partitionKey, KeyType: 'HASH' }]);
    expect(table().TimeToLiveSpecification).toEqual({ AttributeName: TICKET_TABLE_SCHEMA.ttlAttribute, Enabled: true });
  });

  it('has point-in-time recovery and is encrypted with the realtime key, not the data key', () => {
    // Assess
    expect(table().PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table().SSESpecification).toMatchObject({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: arnOf(stack.keys.realtime) });
  });
});
