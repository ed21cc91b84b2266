import * as z from 'zod';
import { ROUTES, type RouteId, type RouteSpec } from '../../lambdas/api/routes';
import { USER_ROLES } from '../domain/task';
import { createInviteBodySchema } from './admin/invites';
import { listUsersQuerySchema } from './admin/users';
import { loginBodySchema, logoutBodySchema, refreshBodySchema, registerBodySchema, tokenResponseSchema, userSchema } from './auth/schemas';
import { json, type ApiRequest, type ApiResponse } from '../http/request';
import type { ApiConfig } from './config';
import type { ApiDeps } from './deps';
import {
  createTaskBodySchema,
  createTaskResponseSchema,
  listTasksQuerySchema,
  presignedUrlResponseSchema,
  resultQuerySchema,
  taskListResponseSchema,
  taskResponseSchema,
} from './tasks/schemas';
import { wsTicketBodySchema, wsTicketResponseSchema } from './ws-ticket/ws-ticket';

/**
 * The OpenAPI 3.1 document, generated from the route manifest (every route, its auth) and the
 * zod schemas the handlers validate with (bodies, query parameters, responses). `ROUTE_DOCS` is
 * keyed by route id and typed as a complete record, so a route added to the manifest does not
 * type-check until it is documented here.
 */

interface ResponseDoc {
  description: string;
  /** JSON body; omitted for bodiless answers (204) and non-JSON ones described by `content`. */
  schema?: z.ZodType;
  /** A non-JSON body, by media type. */
  content?: Record<string, Record<string, unknown>>;
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

export interface RouteDoc {
  /** Request body; `bodyOptional` when an empty body is accepted too. */
  body?: (config: ApiConfig) => z.ZodType;
  bodyOptional?: boolean;
  /** Query parameters: a strict object of strings, so unknown parameters are refused. */
  query?: z.ZodObject;
  responses: Record<number, ResponseDoc>;
  /** Client errors this route answers besides the ones every route can (400/401/404/413/415/429). */
  errors?: number[];
  description?: string;
}

const uuidPath = { type: 'string', format: 'uuid' } as const;
/** Path parameters that are not ids. */
const PATH_PARAMETERS: Record<string, Record<string, unknown>> = { page: { type: 'integer', minimum: 1 } };
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 1 } } };

const accountSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  role: z.enum(USER_ROLES),
  status: z.enum(['active', 'disabled', 'pending']),
  createdAt: z.iso.datetime(),
});

const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  parts: z.record(z.string(), z.object({ status: z.enum(['ok', 'error']), kind: z.string().optional(), error: z.string().optional() })),
});

export const ROUTE_DOCS: Record<RouteId, RouteDoc> = {
  register: {
    body: () => registerBodySchema,
    responses: {
      201: { description: 'The account (`approvalPending` when an admin must approve it first)', schema: z.object({ user: userSchema, approvalPending: z.literal(true).optional() }) },
    },
    errors: [403, 409],
  },
  login: { body: () => loginBodySchema, responses: { 200: { description: 'Access and refresh token', schema: tokenResponseSchema } }, errors: [403] },
  refresh: { body: () => refreshBodySchema, responses: { 200: { description: 'A new token pair; the one sent is used up', schema: tokenResponseSchema } } },
  logout: { body: () => logoutBodySchema, bodyOptional: true, responses: { 204: { description: 'The session has ended' } } },
  me: { responses: { 200: { description: 'The calling user', schema: z.object({ user: userSchema }) } } },
  createTask: {
    body: (config) => createTaskBodySchema(config.limits),
    description:
      'Creates a task and a presigned PUT for the document. Send the bytes to `upload.url` with exactly `upload.headers` (the HTTP client sets Content-Length). File names: 1–255 bytes of UTF-8, no control or bidirectional characters, no `/` or `\\`, ending in an extension that matches `contentType`.',
    responses: { 201: { description: 'The task (awaiting_upload) and its upload', schema: createTaskResponseSchema } },
  },
  listTasks: { query: listTasksQuerySchema, responses: { 200: { description: "The caller's tasks, newest first", schema: taskListResponseSchema } } },
  getTask: { responses: { 200: { description: 'The task, with a result summary once completed', schema: taskResponseSchema } } },
  getResult: {
    query: resultQuerySchema,
    description: 'html (default): a presigned GET. text and json: inline, or 303 to a presigned GET above 5 MB.',
    responses: {
      200: {
        description: 'html: `{url, expiresAt}`; text: the plain text; json: the structured document',
        content: {
          'application/json': { schema: { oneOf: [toSchema(presignedUrlResponseSchema, 'output'), { type: 'object', description: 'The structured document (pages, blocks, boxes, confidences, engine per page). A page the OCR model failed on every attempt was read from the PDF text layer or the CPU engine instead: its `engine` names that source and its `fallback` is `{from, reason, attempts}`.' }] } },
          'text/plain': { schema: { type: 'string' } },
        },
      },
      303: {
        description: 'The result is larger than the inline limit: fetch it from `Location` (a presigned GET)',
        schema: presignedUrlResponseSchema,
        headers: { Location: { description: 'Presigned GET URL', schema: { type: 'string', format: 'uri' } } },
      },
    },
    errors: [409],
  },
  getPageImage: {
    description:
      "A presigned GET for page `page`'s preview (WebP, longest side 1,200 px): the page image as the engine read it, scaled, so the JSON view's boxes (in page pixels: scale by the image's width ÷ the page's `width`) lie over it. 404 for a page the result does not have.",
    responses: { 200: { description: 'The preview URL', schema: presignedUrlResponseSchema } },
    errors: [409],
  },
  deleteTask: {
    description: 'Erases every version of the document and its results; the task answers 404 afterwards. 503 `erasure_pending`: repeat the DELETE.',
    responses: { 204: { description: 'Deleted and erased' } },
    errors: [503],
  },
  wsTicket: {
    body: () => wsTicketBodySchema,
    bodyOptional: true,
    responses: { 200: { description: 'The WebSocket URL with a single-use, 60-second ticket', schema: wsTicketResponseSchema } },
  },
  adminListUsers: { query: listUsersQuerySchema, responses: { 200: { description: 'Users, oldest first', schema: z.object({ items: z.array(accountSchema), nextCursor: z.string().nullable() }) } }, errors: [403] },
  adminDisableUser: { responses: { 200: { description: 'The disabled user', schema: z.object({ user: accountSchema }) } }, errors: [403, 409] },
  adminEnableUser: { responses: { 200: { description: 'The enabled user', schema: z.object({ user: accountSchema }) } }, errors: [403] },
  adminInvite: {
    body: () => createInviteBodySchema,
    bodyOptional: true,
    responses: { 201: { description: 'A single-use invite code, shown once', schema: z.object({ code: z.string(), expiresAt: z.iso.datetime() }) } },
    errors: [403],
  },
  openapi: { responses: { 200: { description: 'This document', content: { 'application/json': { schema: { type: 'object' } } } } } },
  health: { responses: { 200: { description: 'Every part answers', schema: healthSchema }, 503: { description: 'A part does not answer', schema: healthSchema, headers: retryAfter } } },
};

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid: `errors` names each field and why (unknown fields included)',
  401: 'No valid access token, or the session has ended',
  403: 'Not allowed (admin routes: admins with a TOTP login)',
  404: 'No such resource: missing, malformed, deleted and other users\' ids answer alike',
  409: 'Conflicts with the current state (e.g. `not_ready`)',
  413: 'The request body is too large',
  415: 'The body is not application/json',
  429: 'A rate limit or quota (`quota_exceeded`): see Retry-After',
  503: 'Try again after Retry-After',
};

function toSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

function errorStatuses(route: RouteSpec, doc: RouteDoc): number[] {
  const statuses = new Set<number>([...(doc.errors ?? [])]);
  if (doc.body || doc.query) statuses.add(400);
  if (doc.body) statuses.add(413).add(415);
  if (route.auth !== 'public') statuses.add(401);
  if (route.auth === 'admin') statuses.add(403);
  if (route.path.includes('{')) statuses.add(404);
  if (route.id === 'createTask') statuses.add(429);
  if (route.id !== 'openapi') statuses.add(503);
  return [...statuses].sort();
}

function operation(route: RouteSpec, doc: RouteDoc, config: ApiConfig): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [];
  for (const name of [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)) {
    parameters.push({ name, in: 'path', required: true, schema: PATH_PARAMETERS[name] ?? uuidPath });
  }
  if (doc.query) {
    const query = toSchema(doc.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
    }
  }
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(doc.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.headers ? { headers: response.headers } : {}),
      ...(response.schema ? { content: { 'application/json': { schema: toSchema(response.schema, 'output') } } } : {}),
      ...(response.content ? { content: response.content } : {}),
    };
  }
  for (const status of errorStatuses(route, doc)) {
    responses[String(status)] = {
      description: ERROR_DESCRIPTIONS[status] ?? 'Error',
      ...(status === 429 || status === 503 ? { headers: retryAfter } : {}),
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  return {
    operationId: route.id,
    summary: route.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [route.path.split('/')[2] ?? 'service'],
    ...(route.auth === 'public' ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body
      ? { requestBody: { required: !doc.bodyOptional, content: { 'application/json': { schema: toSchema(doc.body(config), 'input') } } } }
      : {}),
    responses,
  };
}

const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'code', 'instance', 'requestId'],
  properties: {
    type: { type: 'string', const: 'about:blank' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', description: 'Stable, machine-readable, snake_case' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
    instance: { type: 'string' },
    requestId: { type: 'string' },
  },
};

const cache = new WeakMap<ApiConfig, Record<string, unknown>>();

export function buildOpenApiDocument(config: ApiConfig, routes: readonly RouteSpec[] = ROUTES): Record<string, unknown> {
  const cached = routes === ROUTES ? cache.get(config) : undefined;
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const doc = ROUTE_DOCS[route.id as RouteId];
    if (!doc) throw new Error(`route ${route.id} has no documentation in ROUTE_DOCS`);
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route, doc, config);
  }
  const document = {
    openapi: '3.1.0',
    info: {
      title: 'untxt',
      version: '1',
      description: 'OCR for scanned documents: presigned uploads, task progress, structured HTML, text and JSON results.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: problemSchema },
    },
  };
  if (routes === ROUTES) cache.set(config, document);
  return document;
}

/** `GET /v1/openapi.json`: public, and needs nothing but the configuration (limits appear in it). */
export async function openApiCore(_req: ApiRequest, deps: Pick<ApiDeps, 'config'>): Promise<ApiResponse> {
  return json(200, buildOpenApiDocument(deps.config));
}
