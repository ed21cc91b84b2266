import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Principal } from '../../../src/http/request';

export interface EventInput {
  method?: string;
  path?: string;
  resource?: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Serialised as JSON with content-type application/json unless a string is given. */
  body?: unknown;
  principal?: Principal;
  sourceIp?: string;
  requestId?: string;
}

/** A REST API (payload v1) proxy event as API Gateway sends it, authorizer context as strings. */
export function proxyEvent(input: EventInput = {}): APIGatewayProxyEvent {
  const headers: Record<string, string> = { ...(input.headers ?? {}) };
  let body: string | null = null;
  if (input.body !== undefined) {
    body = typeof input.body === 'string' ? input.body : JSON.stringify(input.body);
    if (typeof input.body !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json';
    }
  }
  const p = input.principal;
  return {
    resource: input.resource ?? input.path ?? '/',
    path: input.path ?? '/',
    httpMethod: input.method ?? 'GET',
    headers,
    multiValueHeaders: {},
    queryStringParameters: input.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: input.pathParameters ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      authorizer: p ? { principalId: p.userId, userId: p.userId, role: p.role, sessionId: p.sessionId, mfa: String(p.mfa) } : null,
      protocol: 'HTTP/1.1',
      httpMethod: input.method ?? 'GET',
      identity: {
        accessKey: null, accountId: null, apiKey: null, apiKeyId: null, caller: null, clientCert: null,
        cognitoAuthenticationProvider: null, cognitoAuthenticationType: null, cognitoIdentityId: null,
        cognitoIdentityPoolId: null, principalOrgId: null, sourceIp: input.sourceIp ?? '203.0.113.7', user: null,
        userAgent: 'jest', userArn: null,
      },
      path: input.path ?? '/',
      stage: 'prod',
      requestId: input.requestId ?? 'req-test',
      requestTimeEpoch: 0,
      resourceId: 'r',
      resourcePath: input.resource ?? input.path ?? '/',
    },
  };
}
