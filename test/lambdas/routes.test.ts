import { join } from 'node:path';
import { isRouteModule, type RouteModule } from '../../lambdas/api/define-handler';
import { ROUTES } from '../../lambdas/api/routes';
import { buildAwsApiDeps, type AwsPart } from '../../lambdas/api/runtime';
import { ROUTE_ACCESS, type RouteAccess } from '../../lib/api';

const ROOT = join(__dirname, '..', '..');

describe('the route manifest', () => {
  it('has unique ids and unique method + path pairs', () => {
    // Act
    const ids = new Set(ROUTES.map((r) => r.id));
    const keys = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));

    // Assess
    expect(ids.size).toBe(ROUTES.length);
    expect(keys.size).toBe(ROUTES.length);
  });

  it('needs no token only for register, login, refresh, the OpenAPI document and health', () => {
    // Act
    const open = ROUTES.filter((r) => r.auth === 'public').map((r) => r.id);

    // Assess
    expect(open.sort()).toEqual(['health', 'login', 'openapi', 'refresh', 'register']);
    expect(ROUTES.filter((r) => r.path.startsWith('/v1/admin/')).every((r) => r.auth === 'admin')).toBe(true);
  });

  it.each(ROUTES.map((r) => [r.id, r] as const))('points %s at a file exporting handler and withDeps', (_id, route) => {
    // Act
    const module: unknown = require(join(ROOT, route.entry));

    // Assess
    expect(isRouteModule(module)).toBe(true);
  });
});

describe('the AWS parts of each route', () => {
  /** Which optional part of ApiDeps each kind of access in lib/api.ts (and its variable) serves. */
  const PART_OF_ACCESS: Record<RouteAccess, AwsPart | null> = {
    database: null,
    signingKey: 'signingKeys',
    presignUpload: 'objectStore',
    readResults: 'objectStore',
    eraseDocuments: 'objectStore',
    publishEvents: 'eventBus',
    issueTickets: 'tickets',
    removeConnections: 'connections',
  };

  it.each(ROUTES.filter((r) => r.id !== 'openapi').map((r) => [r.id, r] as const))('builds for %s exactly the parts its grants and variables cover', (_id, route) => {
    // Prepare
    const expected = [...new Set(ROUTE_ACCESS[route.id].map((a) => PART_OF_ACCESS[a]).filter((p) => p !== null))].sort();

    // Act
    const module = require(join(ROOT, route.entry)) as RouteModule;

    // Assess
    expect([...(module.awsParts ?? [])].sort()).toEqual(expected);
  });

  it('builds a named part whose variable is set, and leaves the others failing when used', () => {
    // Prepare
    const env = { DB_HOST: 'db.example', DB_PORT: '5432', DB_NAME: 'untxt', DB_USER: 'untxt_api', AWS_REGION: 'eu-central-1', DOCUMENTS_BUCKET: 'docs', EVENT_BUS_NAME: 'untxt' };
    const bucketsSeen: string[] = [];

    // Act
    const deps = buildAwsApiDeps(env, { objectStore: (bucket) => (bucketsSeen.push(bucket), { marker: 'store' } as never) });

    // Assess
    expect(bucketsSeen).toEqual(['docs']);
    expect(deps.objectStore).toEqual({ marker: 'store' });
    expect(() => deps.eventBus.publish).toThrow(/EVENT_BUS_NAME is not configured/);
    expect(() => deps.tickets.issue).toThrow(/TICKETS_TABLE is not configured/);
  });
});
