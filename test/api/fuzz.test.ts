import fc from 'fast-check';
import { ROUTES, type RouteSpec } from '../../lambdas/api/routes';
import { scryptHasher } from '../../src/auth/password';
import { totpCode } from '../../src/auth/totp';
import { TEST_SCRYPT } from './support/api-harness';
import { completedTask } from './tasks/task-harness';
import { account, startService, type RunningService } from './tasks/local-service';

/**
 * Property-based fuzzing of every route in the manifest, through the local server (real HTTP,
 * body cap, authorizer, handlers). Bodies, query parameters and path ids are drawn from arbitrary
 * JSON and from values shaped like the route's own fields (names taken from the OpenAPI
 * document, so new fields are fuzzed too). Whatever is sent: the answer is 2xx or 4xx, never
 * 5xx; an error is problem+json with a code; and a refused request leaves the stored rows as
 * they were.
 */

const RUNS_PER_ROUTE = 120;
const COUNTED_TABLES = ['users', 'sessions', 'files', 'tasks', 'results', 'invites'] as const;

interface Operation {
  bodyFields: string[];
  queryParams: string[];
}

const plausible = fc.constantFrom<unknown>(
  'scan.pdf', 'photo.JPG', 'a/b.pdf', '..', '', ' ', 'application/pdf', 'image/png', 'text/html', 'ab'.repeat(32), 'AB'.repeat(32),
  1, 0, -1, 1234, 2 ** 53, 1.5, 'a@example.com', 'fuzz correct horse battery', '123456', 'html', 'text', 'json', 'completed', 'deleted',
  '20', '0', '101', 'eyJ2IjoxfQ', 'A'.repeat(43), null, true, [], {}, 'é'.repeat(200), '\u202E', '\u0000',
);
const value = fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary' }) });

function bodyArbitrary(fields: string[]): fc.Arbitrary<{ raw: string | undefined; contentType: string | undefined }> {
  const shaped = fields.length > 0 ? fc.dictionary(fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 8 })), value, { maxKeys: fields.length + 1 }) : fc.constant({});
  return fc.oneof(
    { weight: 5, arbitrary: shaped.map((b) => ({ raw: JSON.stringify(b), contentType: 'application/json' })) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((b) => ({ raw: JSON.stringify(b), contentType: 'application/json' })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary' }).map((raw) => ({ raw, contentType: 'application/json' })) },
    { weight: 1, arbitrary: fc.tuple(shaped, fc.constantFrom('text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded')).map(([b, contentType]) => ({ raw: JSON.stringify(b), contentType })) },
    { weight: 1, arbitrary: fc.constant({ raw: undefined, contentType: undefined }) },
  );
}

function queryArbitrary(params: string[]): fc.Arbitrary<[string, string][]> {
  const name = params.length > 0 ? fc.oneof(fc.constantFrom(...params), fc.string({ maxLength: 6 })) : fc.string({ maxLength: 6 });
  return fc.array(fc.tuple(name, fc.oneof(plausible.map(String), fc.string({ unit: 'binary', maxLength: 40 }))), { maxLength: 3 });
}

describe('fuzzing every route', () => {
  let running: RunningService;
  let operations: Record<string, Record<string, Operation>>;
  const tokens: Record<'user' | 'admin' | 'logout', string> = { user: '', admin: '', logout: '' };
  const knownIds: string[] = [];

  beforeAll(async () => {
    running = await startService();
    const { service } = running;
    const admin = service.api.firstAdmin;
    if (!admin?.created) throw new Error('the first admin was not created');
    const login = await fetch(`${service.apiUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: admin.email, password: admin.password, totp: totpCode(admin.totpSecret, new Date()) }),
    });
    tokens.admin = ((await login.json()) as { accessToken: string }).accessToken;
    const user = await account(service, 'fuzz-user');
    tokens.user = user.token;
    tokens.logout = (await account(service, 'fuzz-logout')).token;
    knownIds.push((await completedTask({ deps: { db: service.database }, store: service.objectStore }, user.userId)).taskId, admin.userId);
    // Shape-valid credentials would otherwise cost a full scrypt run each; the format is the same.
    service.api.deps.passwords = scryptHasher(TEST_SCRYPT);

    const document = (await (await fetch(`${service.apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }; parameters?: Array<{ name: string; in: string }> }>>;
    };
    operations = {};
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        (operations[path] ??= {})[method.toUpperCase()] = {
          bodyFields: Object.keys(op.requestBody?.content['application/json']?.schema.properties ?? {}),
          queryParams: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        };
      }
    }
  });

  afterAll(() => running.stop());

  async function rowCounts(): Promise<Record<string, number>> {
    const { rows } = await running.service.database.query<Record<string, number>>(
      `SELECT ${COUNTED_TABLES.map((t) => `(SELECT count(*)::int FROM ${t}) AS ${t}`).join(', ')}`,
    );
    return rows[0]!;
  }

  function tokenFor(route: RouteSpec): string | undefined {
    if (route.id === 'logout') return tokens.logout;
    if (route.auth === 'admin') return tokens.admin;
    return tokens.user;
  }

  it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))('%s answers only 2xx or 4xx and stores nothing it refuses', async (_name, route) => {
    // Prepare
    const operation = operations[route.path]?.[route.method];
    expect(operation).toBeDefined();
    const idArbitrary = fc.oneof(fc.uuid(), fc.constantFrom(...knownIds), fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }));
    // Page numbers the known completed task has (1), ones it has not, and ones that are no number at all.
    const pageArbitrary = route.path.includes('{page}')
      ? fc.oneof(fc.integer({ min: -2, max: 3 }).map(String), fc.constantFrom('01', '1.0', '1e0', '999999', '9999999'), fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }))
      : fc.constant('');
    const withBody = route.method !== 'GET';
    const auth = fc.oneof({ weight: 8, arbitrary: fc.constant(tokenFor(route)) }, { weight: 1, arbitrary: fc.constantFrom(undefined, 'garbage', tokens.user) });

    // Act & Assess
    await fc.assert(
      fc.asyncProperty(idArbitrary, pageArbitrary, queryArbitrary(operation!.queryParams), withBody ? bodyArbitrary(operation!.bodyFields) : fc.constant({ raw: undefined, contentType: undefined }), auth, async (id, page, query, body, token) => {
        const before = await rowCounts();
        const path = route.path.replace('{id}', encodeURIComponent(id)).replace('{page}', encodeURIComponent(page));
        const search = query.length > 0 ? `?${new URLSearchParams(query).toString()}` : '';
        const headers: Record<string, string> = {};
        if (token !== undefined) headers.authorization = `Bearer ${token}`;
        if (body.contentType !== undefined) headers['content-type'] = body.contentType;
        const response = await fetch(`${running.service.url}${path}${search}`, { method: route.method, headers, body: body.raw, redirect: 'manual' });
        const text = await response.text();

        expect(response.status).toBeGreaterThanOrEqual(200);
        expect(response.status).toBeLessThan(500);
        if (response.status >= 400) {
          expect(response.headers.get('content-type')).toBe('application/problem+json');
          expect(JSON.parse(text)).toMatchObject({ status: response.status, code: expect.stringMatching(/^[a-z_]+$/) });
          expect(await rowCounts()).toEqual(before);
        }
      }),
      { numRuns: RUNS_PER_ROUTE },
    );
  });
});
