/**
 * The request and response the API cores see. Nothing here knows API Gateway: the Lambda adapter
 * (lambdas/api/http-handler.ts) and local mode build these from their own inputs.
 */

import type { UserRole } from '../domain/task';

export type Role = UserRole;

/** Who the access token says is calling. Cores still re-check the user and session in the database. */
export interface Principal {
  userId: string;
  role: Role;
  /** The refresh-token family the access token was issued for (`sid` claim). */
  sessionId: string;
  /** The login proved a second factor (TOTP). */
  mfa: boolean;
}

export interface ApiRequest {
  method: string;
  /** The resource path as called, e.g. `/v1/tasks/1b9d…`. */
  path: string;
  /** Decoded path parameters by name (`id` for `/v1/tasks/{id}`). */
  pathParameters: Readonly<Record<string, string>>;
  /** Single-valued query parameters; a repeated parameter keeps its last value (as API Gateway does). */
  query: Readonly<Record<string, string>>;
  /** Header names lower-cased. */
  headers: Readonly<Record<string, string>>;
  /** The parsed JSON body, or undefined when the request had none. */
  body: unknown;
  requestId: string;
  sourceIp: string;
  userAgent: string | undefined;
  principal?: Principal;
}

export interface ApiResponse {
  status: number;
  /** Lower-case names; the adapter adds content-type, cache-control and the security headers. */
  headers?: Record<string, string>;
  /** Serialised as application/json. */
  body?: unknown;
  /** Sent as is (text/plain results, problem+json); wins over `body`. */
  rawBody?: { contentType: string; body: string };
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): ApiResponse => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

export const noContent = (): ApiResponse => ({ status: 204 });
