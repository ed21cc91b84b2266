import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod';
import { USER_ROLES } from '../../src/domain/task';
import { DEFAULT_MAX_BODY_BYTES, parseJsonBody } from '../../src/http/body';
import { problemResponse } from '../../src/http/problem';
import type { ApiRequest, ApiResponse, Principal } from '../../src/http/request';

/** A core: pure of API Gateway, given the request and its dependencies. */
export type ApiCore<D> = (req: ApiRequest, deps: D) => Promise<ApiResponse>;

/** What the Lambda runtime calls (REST API, Lambda proxy integration, payload v1). */
export type ProxyHandler = (event: APIGatewayProxyEvent, context?: unknown) => Promise<APIGatewayProxyResult>;

export interface LambdaHandlerOptions {
  /** Bodies above this answer 413 (API Gateway's own limit is 10 MB). */
  maxBodyBytes?: number;
}

/** Headers every answer carries: nothing is cacheable, nothing is sniffed. */
const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
} as const;

/**
 * The authorizer's context as API Gateway passes it to the integration (values may arrive as
 * strings). Anything malformed is treated as no principal, and the core answers 401.
 */
const authorizerContextSchema = z.object({
  userId: z.uuid(),
  role: z.enum(USER_ROLES),
  sessionId: z.uuid(),
  mfa: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]),
});

let fallbackLogger: Logger | undefined;

/**
 * Wraps a core as a Lambda handler. Dependencies are built on the first call and kept for the
 * container's life (a failed build is retried on the next call). Each call gets a child logger
 * carrying the request id; the core's errors become problem+json, unexpected ones a bare 500.
 */
export function toLambdaHandler<D extends { logger: Logger }>(
  core: ApiCore<D>,
  makeDeps: () => D | Promise<D>,
  options: LambdaHandlerOptions = {},
): ProxyHandler {
  let deps: Promise<D> | undefined;
  const getDeps = (): Promise<D> => {
    if (!deps) {
      const building = Promise.resolve().then(makeDeps);
      deps = building;
      building.catch(() => {
        if (deps === building) deps = undefined;
      });
    }
    return deps;
  };

  return async (event) => {
    const started = Date.now();
    const requestId = event.requestContext?.requestId ?? 'unknown';
    let logger = (fallbackLogger ??= new Logger({ serviceName: 'untxt-api' })).createChild({ persistentKeys: { requestId } });
    let response: ApiResponse;
    try {
      const base = await getDeps();
      logger = base.logger.createChild({ persistentKeys: { requestId } });
      const request = toApiRequest(event, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
      response = await core(request, { ...base, logger });
    } catch (error) {
      response = problemResponse(error, requestId, logger);
    }
    // Route template, method and status only: never the path (ids are fine, but query strings are not).
    logger.info('Request', { method: event.httpMethod, resource: event.resource, status: response.status, ms: Date.now() - started });
    return toProxyResult(response, requestId);
  };
}

/** The core's view of an API Gateway event; throws ApiError for bodies it cannot accept. */
export function toApiRequest(event: APIGatewayProxyEvent, maxBodyBytes: number = DEFAULT_MAX_BODY_BYTES): ApiRequest {
  const headers = lowerCaseHeaders(event.headers);
  const raw =
    event.body === null || event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  const principal = principalFrom(event.requestContext?.authorizer);
  return {
    method: event.httpMethod.toUpperCase(),
    path: event.path,
    pathParameters: definedValues(event.pathParameters),
    query: lastQueryValues(event),
    headers,
    body: parseJsonBody(raw, headers['content-type'], maxBodyBytes),
    requestId: event.requestContext?.requestId ?? 'unknown',
    sourceIp: event.requestContext?.identity?.sourceIp ?? '',
    userAgent: headers['user-agent'],
    ...(principal ? { principal } : {}),
  };
}

export function principalFrom(context: unknown): Principal | undefined {
  const parsed = authorizerContextSchema.safeParse(context);
  return parsed.success ? parsed.data : undefined;
}

export function toProxyResult(response: ApiResponse, requestId: string): APIGatewayProxyResult {
  const headers: Record<string, string> = { ...SECURITY_HEADERS, 'x-request-id': requestId };
  for (const [name, value] of Object.entries(response.headers ?? {})) headers[name.toLowerCase()] = value;
  let body = '';
  if (response.rawBody) {
    headers['content-type'] = response.rawBody.contentType;
    body = response.rawBody.body;
  } else if (response.body !== undefined) {
    headers['content-type'] = 'application/json; charset=utf-8';
    body = JSON.stringify(response.body);
  }
  return { statusCode: response.status, headers, body };
}

function lowerCaseHeaders(headers: APIGatewayProxyEvent['headers'] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) if (typeof value === 'string') out[name.toLowerCase()] = value;
  return out;
}

function definedValues(values: Record<string, string | undefined> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values ?? {})) if (typeof value === 'string') out[name] = value;
  return out;
}

/** A repeated parameter keeps its last value, as API Gateway's single-value map does. */
function lastQueryValues(event: APIGatewayProxyEvent): Record<string, string> {
  const out = definedValues(event.queryStringParameters);
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    const last = values?.[values.length - 1];
    if (last !== undefined) out[name] = last;
  }
  return out;
}
