import { STATUS_CODES } from 'node:http';
import { errorSummary } from '../adapters/error-summary';
import { sqlState } from '../db/database';
import type { ApiResponse } from './request';

/** One field a request got wrong: `field` as the client spells it (`email`, `items.0.name`). */
export interface FieldError {
  field: string;
  message: string;
}

export interface ApiErrorInit {
  status: number;
  /** Stable, machine-readable, snake_case: clients switch on it, so it is never renamed. */
  code: string;
  /** For people; never internals (SQL, paths, stack traces, what an id belongs to). */
  detail?: string;
  errors?: FieldError[];
  /** Extra response headers, e.g. Retry-After, WWW-Authenticate. */
  headers?: Record<string, string>;
}

/**
 * An error a core throws on purpose, to answer the client with a problem document. Anything else
 * thrown becomes a 500 without detail.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** RFC 9457 with `type: about:blank`: the title is the status phrase. */
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(init: ApiErrorInit) {
    super(init.detail ?? init.code);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.title = STATUS_CODES[init.status] ?? 'Error';
    this.detail = init.detail;
    this.errors = init.errors;
    this.headers = init.headers ?? {};
  }
}

export const validationFailed = (errors: FieldError[], detail = 'The request is not valid.'): ApiError =>
  new ApiError({ status: 400, code: 'validation_failed', detail, errors });

export const invalidJson = (): ApiError =>
  new ApiError({ status: 400, code: 'invalid_json', detail: 'The request body is not valid JSON.' });

export const unauthorized = (detail = 'A valid access token is required.'): ApiError =>
  new ApiError({ status: 401, code: 'unauthorized', detail, headers: { 'www-authenticate': 'Bearer' } });

export const forbidden = (detail = 'You may not do this.', code = 'forbidden'): ApiError =>
  new ApiError({ status: 403, code, detail });

/** Missing, someone else's, deleted and malformed ids all answer this, word for word. */
export const notFound = (detail = 'No such resource.'): ApiError => new ApiError({ status: 404, code: 'not_found', detail });

export const conflict = (code: string, detail: string): ApiError => new ApiError({ status: 409, code, detail });

export const payloadTooLarge = (limitBytes: number): ApiError =>
  new ApiError({ status: 413, code: 'payload_too_large', detail: `The request body exceeds ${limitBytes} bytes.` });

export const unsupportedMediaType = (): ApiError =>
  new ApiError({ status: 415, code: 'unsupported_media_type', detail: 'Send the body as application/json.' });

/** 429. `retryAfterSeconds` is rounded up to a whole second, at least 1. */
export const tooManyRequests = (
  retryAfterSeconds: number,
  code: 'rate_limited' | 'quota_exceeded' = 'rate_limited',
  detail = 'Too many requests; try again later.',
): ApiError =>
  new ApiError({ status: 429, code, detail, headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });

/** 503, e.g. while Aurora resumes from a pause (~15 s). */
export const unavailable = (retryAfterSeconds = 15, detail = 'The service is starting up; try again shortly.'): ApiError =>
  new ApiError({ status: 503, code: 'unavailable', detail, headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });

/**
 * A database that cannot be reached yet: a paused Aurora cluster resuming, a connection or
 * connect timeout, "the database system is starting up" (57P03) or a connection exception (08xxx).
 * Those answer 503 with Retry-After instead of 500, since trying again shortly will work.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const state = sqlState(error);
  if (state !== undefined) return state === '57P03' || state.startsWith('08');
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EAI_AGAIN') return true;
  const message = error instanceof Error ? error.message : '';
  return /timeout exceeded when trying to connect|Connection terminated (unexpectedly|due to connection timeout)/i.test(message);
}

/** Where unexpected errors are reported: a Powertools Logger fits. */
export interface ErrorLog {
  error(message: string, attributes: Record<string, unknown>): void;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * An error as an RFC 9457 problem response. ApiErrors keep their status, code and detail; a
 * database that is not reachable yet becomes 503; anything else becomes a bare 500 `internal`
 * (logged by kind and message only: never a stack or the objects an error carries).
 */
export function problemResponse(error: unknown, requestId: string, log?: ErrorLog): ApiResponse {
  let problem: ApiError;
  if (error instanceof ApiError) {
    problem = error;
  } else if (isDatabaseUnavailable(error)) {
    log?.error('Database unavailable', { error: errorSummary(error) });
    problem = unavailable();
  } else {
    log?.error('Request failed', { error: errorSummary(error) });
    problem = new ApiError({ status: 500, code: 'internal', detail: undefined });
  }
  const body: Record<string, unknown> = {
    type: 'about:blank',
    title: problem.title,
    status: problem.status,
    code: problem.code,
    ...(problem.detail !== undefined ? { detail: problem.detail } : {}),
    ...(problem.errors !== undefined ? { errors: problem.errors } : {}),
    instance: `urn:request:${requestId}`,
    requestId,
  };
  return {
    status: problem.status,
    headers: problem.headers,
    rawBody: { contentType: PROBLEM_CONTENT_TYPE, body: JSON.stringify(body) },
  };
}
