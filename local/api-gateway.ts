import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { ProxyHandler } from '../lambdas/api/http-handler';
import { toProxyResult } from '../lambdas/api/http-handler';
import type { RouteSpec } from '../lambdas/api/routes';
import { authorizerContext } from '../src/auth/authorizer';
import { payloadTooLarge, problemResponse, unauthorized } from '../src/http/problem';
import type { Principal } from '../src/http/request';
import type { RequestContext, RouteHandler } from './router';

/** Like API Gateway's payload limit, but far smaller: the API's bodies are small JSON documents. */
export const LOCAL_MAX_BODY_BYTES = 1024 * 1024;

export interface LocalGatewayOptions {
  /** The authorizer's decision for non-public routes (the same core the Lambda authorizer runs). */
  authorize: (authorization: string | undefined) => Promise<Principal | null>;
  maxBodyBytes?: number;
}

/**
 * What API Gateway does in front of a Lambda, for one route: read the body (413 above the cap),
 * run the authorizer for non-public routes (401 without a valid token, as the gateway's
 * UNAUTHORIZED response does), build the REST API proxy event, call the handler and write its
 * result back.
 */
export function gatewayRoute(route: RouteSpec, handler: ProxyHandler, options: LocalGatewayOptions): RouteHandler {
  const maxBodyBytes = options.maxBodyBytes ?? LOCAL_MAX_BODY_BYTES;
  return async (ctx) => {
    const body = await readBody(ctx.req, maxBodyBytes);
    if (body === 'too_large') {
      writeResult(ctx.res, toProxyResult(problemResponse(payloadTooLarge(maxBodyBytes), ctx.requestId), ctx.requestId), true);
      return;
    }
    let principal: Principal | null = null;
    if (route.auth !== 'public') {
      principal = await options.authorize(ctx.req.headers.authorization);
      if (!principal) {
        writeResult(ctx.res, toProxyResult(problemResponse(unauthorized(), ctx.requestId), ctx.requestId));
        return;
      }
    }
    writeResult(ctx.res, await handler(toProxyEvent(route, ctx, body, principal)));
  };
}

export function toProxyEvent(route: RouteSpec, ctx: RequestContext, body: Buffer, principal: Principal | null): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(', ');
    multiValueHeaders[name] = values;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of ctx.query) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const hasQuery = Object.keys(query).length > 0;
  const hasParams = Object.keys(ctx.params).length > 0;
  // API Gateway turns the authorizer's booleans and numbers into strings on the way to the integration.
  const authorizer = principal
    ? { principalId: principal.userId, ...Object.fromEntries(Object.entries(authorizerContext(principal)).map(([k, v]) => [k, String(v)])) }
    : null;
  return {
    resource: route.path,
    path: ctx.path,
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: hasParams ? { ...ctx.params } : null,
    stageVariables: null,
    body: body.length > 0 ? body.toString('base64') : null,
    // Binary-safe, as API Gateway does for binary media types; the handler decodes it.
    isBase64Encoded: body.length > 0,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer,
      protocol: `HTTP/${ctx.req.httpVersion}`,
      httpMethod: route.method,
      identity: localIdentity(ctx.req),
      path: ctx.path,
      stage: 'local',
      requestId: ctx.requestId,
      requestTimeEpoch: Date.now(),
      resourceId: route.id,
      resourcePath: route.path,
    },
  };
}

function localIdentity(req: IncomingMessage): APIGatewayProxyEvent['requestContext']['identity'] {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    // IPv4-mapped IPv6 (::ffff:127.0.0.1) as API Gateway would report it: plain IPv4.
    sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
    user: null,
    userAgent: req.headers['user-agent'] ?? null,
    userArn: null,
  };
}

/** The body up to `maxBytes`; beyond that the rest is discarded and 'too_large' returned. */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too_large'> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return 'too_large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function writeResult(res: ServerResponse, result: APIGatewayProxyResult, closeConnection = false): void {
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body, 'utf8');
  const headers: Record<string, string | number> = { 'content-length': body.length };
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  // An unread oversized body would otherwise be drained first; closing is cheaper and honest.
  if (closeConnection) headers.connection = 'close';
  res.writeHead(result.statusCode, headers);
  res.end(body);
}
