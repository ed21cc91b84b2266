import * as apigw from 'aws-cdk-lib/aws-apigateway';

/**
 * What API Gateway answers by itself (no handler ran): as problem+json (RFC 9457) with a stable
 * `code`, like the handlers' own errors, and the same security headers.
 */
export interface ProblemGatewayResponse {
  readonly type: apigw.ResponseType;
  /** Omitted for the DEFAULT_* families, which keep API Gateway's own status (e.g. 413, 504). */
  readonly status?: number;
  readonly title: string;
  readonly code: string;
  readonly detail: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const PROBLEM_GATEWAY_RESPONSES: readonly ProblemGatewayResponse[] = [
  {
    type: apigw.ResponseType.DEFAULT_4XX,
    title: 'Bad Request',
    code: 'request_rejected',
    detail: 'The request was rejected before it reached the service.',
  },
  {
    type: apigw.ResponseType.DEFAULT_5XX,
    title: 'Service Unavailable',
    code: 'gateway_error',
    detail: 'The service could not answer; try again shortly.',
  },
  {
    type: apigw.ResponseType.UNAUTHORIZED,
    status: 401,
    title: 'Unauthorized',
    code: 'unauthorized',
    detail: 'A valid access token is required.',
    headers: { 'WWW-Authenticate': 'Bearer' },
  },
  {
    type: apigw.ResponseType.ACCESS_DENIED,
    status: 403,
    title: 'Forbidden',
    code: 'forbidden',
    detail: 'You may not do this.',
  },
  {
    type: apigw.ResponseType.THROTTLED,
    status: 429,
    title: 'Too Many Requests',
    code: 'rate_limited',
    detail: 'Too many requests; try again later.',
    headers: { 'Retry-After': '1' },
  },
  {
    type: apigw.ResponseType.WAF_FILTERED,
    status: 403,
    title: 'Forbidden',
    code: 'request_blocked',
    // The rate rule answers 429 itself (lib/api-waf.ts); this is every other firewall block.
    detail: 'The request was blocked by the firewall (too large, malformed, or from a blocked address).',
  },
  {
    // An unknown path or method: API Gateway's own answer is a misleading 403 "Missing Authentication Token".
    type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
    status: 404,
    title: 'Not Found',
    code: 'not_found',
    detail: 'No such resource.',
  },
];

/** Header values in a gateway response are mapping expressions: literals are single-quoted. */
const literal = (value: string): string => `'${value.replace(/'/g, '')}'`;

export function problemBodyTemplate(r: ProblemGatewayResponse): string {
  const body: Record<string, string | number> = {
    type: 'about:blank',
    title: r.title,
    ...(r.status !== undefined ? { status: r.status } : {}),
    code: r.code,
    detail: r.detail,
    requestId: '$context.requestId',
  };
  return JSON.stringify(body);
}

export function addProblemGatewayResponses(api: apigw.RestApi): void {
  for (const r of PROBLEM_GATEWAY_RESPONSES) {
    const headers: Record<string, string> = {
      'Content-Type': 'application/problem+json',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...r.headers,
    };
    api.addGatewayResponse(`Problem${r.type.responseType}`, {
      type: r.type,
      ...(r.status !== undefined ? { statusCode: String(r.status) } : {}),
      responseHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, literal(value)])),
      templates: { 'application/json': problemBodyTemplate(r) },
    });
  }
}
