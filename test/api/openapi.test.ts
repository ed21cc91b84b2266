import { ROUTES } from '../../lambdas/api/routes';
import * as openapiRoute from '../../lambdas/api/openapi';
import { defaultApiConfig } from '../../src/api/config';
import { buildOpenApiDocument } from '../../src/api/openapi';
import { createTaskBodySchema } from '../../src/api/tasks/schemas';
import { proxyEvent } from '../lambdas/support/events';

type Operation = {
  operationId: string;
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
  requestBody?: { required: boolean; content: { 'application/json': { schema: Record<string, unknown> } } };
  responses: Record<string, { content?: Record<string, unknown> }>;
};

const config = defaultApiConfig({ registrationMode: 'invite' });
const document = buildOpenApiDocument(config) as { openapi: string; paths: Record<string, Record<string, Operation>>; security: unknown[] };
const operationOf = (id: string): Operation => {
  const route = ROUTES.find((r) => r.id === id)!;
  return document.paths[route.path]![route.method.toLowerCase()]!;
};

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with bearer authentication by default', () => {
    // Assess
    expect(document.openapi).toBe('3.1.0');
    expect(document.security).toEqual([{ bearerAuth: [] }]);
  });

  it.each(ROUTES.map((r) => [r.id, r] as const))('documents route %s under its path and method', (_id, route) => {
    // Act
    const operation = document.paths[route.path]?.[route.method.toLowerCase()];

    // Assess
    expect(operation?.operationId).toBe(route.id);
    if (route.auth === 'public') expect(operation?.security).toEqual([]);
    else expect(operation?.security).toBeUndefined();
  });

  it('documents nothing that is not in the manifest', () => {
    // Act
    const documented = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));

    // Assess
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('describes errors as problem+json, with 401 on every route that needs a token', () => {
    // Assess
    for (const route of ROUTES) {
      const op = document.paths[route.path]![route.method.toLowerCase()]!;
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) >= 400) expect(Object.keys(response.content ?? {})).toEqual(['application/problem+json']);
      }
      expect(Object.keys(op.responses).includes('401')).toBe(route.auth !== 'public');
    }
  });

  it('closes every documented request body to unknown fields, as the handlers do', () => {
    // Assess
    for (const route of ROUTES) {
      const schema = document.paths[route.path]![route.method.toLowerCase()]!.requestBody?.content['application/json'].schema;
      if (schema) expect({ route: route.id, additionalProperties: schema.additionalProperties }).toEqual({ route: route.id, additionalProperties: false });
    }
  });

  it('documents the create-task body with the allowlisted types and the configured size limit', () => {
    // Act
    const schema = operationOf('createTask').requestBody!.content['application/json'].schema as {
      required: string[];
      properties: Record<string, Record<string, unknown>>;
    };

    // Assess
    expect([...schema.required].sort()).toEqual(['contentType', 'filename', 'sha256', 'size']);
    expect(schema.properties.contentType!.enum).toEqual(['application/pdf', 'image/png', 'image/jpeg', 'image/tiff', 'image/webp']);
    expect(schema.properties.size).toMatchObject({ type: 'integer', minimum: 1, maximum: config.limits.maxUploadBytes });
    expect(schema.properties.sha256!.pattern).toBe('^[0-9a-fA-F]{64}$');
  });

  it('documents query parameters, and what the schema documents the handler refuses alike', () => {
    // Prepare
    const list = operationOf('listTasks').parameters!;
    const body = { filename: 'a.pdf', contentType: 'application/pdf', size: 1, sha256: 'a'.repeat(64), extra: 1 };

    // Act
    const refused = createTaskBodySchema(config.limits).safeParse(body);

    // Assess
    expect(list.map((p) => [p.name, p.in, p.required])).toEqual([
      ['status', 'query', false],
      ['limit', 'query', false],
      ['cursor', 'query', false],
    ]);
    expect(operationOf('getResult').parameters!.map((p) => p.name)).toEqual(['id', 'format']);
    expect(refused.success).toBe(false);
  });

  it('is served publicly by its handler without any database settings', async () => {
    // Prepare
    const saved = { DB_HOST: process.env.DB_HOST, REGISTRATION_MODE: process.env.REGISTRATION_MODE };
    delete process.env.DB_HOST;
    process.env.REGISTRATION_MODE = 'invite';

    // Act
    const result = await openapiRoute.handler(proxyEvent({ method: 'GET', path: '/v1/openapi.json' }));
    Object.assign(process.env, Object.fromEntries(Object.entries(saved).filter(([, v]) => v !== undefined)));

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual(document);
  });
});
