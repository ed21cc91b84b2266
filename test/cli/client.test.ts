import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, REFRESH_MARGIN_MS } from '../../cli/client';
import { CredentialStore } from '../../cli/credentials';
import { CliError, EXIT, exitCodeForStatus } from '../../cli/exit-codes';

const ENDPOINT = 'http://untxt.test';
const NOW = Date.UTC(2030, 0, 1);
const token = (name: string) => name.padEnd(43, 'x');

interface Call {
  method: string;
  path: string;
  authorization: string | null;
  body: unknown;
}

/** A stand-in API: `/v1/auth/refresh` rotates, everything else answers `route(call)`. */
function fakeApi(route: (call: Call) => Response, refresh: (call: Call) => Response = rotate) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: string | URL, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const headers = new Headers(init.headers);
    const call: Call = {
      method: init.method ?? 'GET',
      path: url.pathname,
      authorization: headers.get('authorization'),
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    return call.path === '/v1/auth/refresh' ? refresh(call) : route(call);
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
const problem = (status: number, code: string, detail: string, extra: Record<string, unknown> = {}) =>
  json(status, { type: 'about:blank', title: 'x', status, code, detail, ...extra }, 'application/problem+json');
const rotate = () => json(200, { accessToken: 'access-2', refreshToken: token('refresh2'), tokenType: 'Bearer', expiresIn: 900 });

describe('the API client', () => {
  let home: string;
  let store: CredentialStore;

  beforeEach(async () => {
    home = mkdtempSync(join(tmpdir(), 'untxt-client-'));
    store = new CredentialStore(join(home, 'credentials.json'));
    await store.set(ENDPOINT, { accessToken: 'access-1', refreshToken: token('refresh1'), accessExpiresAt: new Date(NOW + 600_000).toISOString() });
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const client = (fetchImpl: typeof fetch) => new ApiClient({ endpoint: ENDPOINT, store, fetch: fetchImpl, now: () => NOW });

  it('refreshes once on a 401, retries with the new token and stores the rotated refresh token', async () => {
    // Prepare
    const api = fakeApi((call) => (call.authorization === 'Bearer access-2' ? json(200, { items: [] }) : problem(401, 'unauthorized', 'expired')));

    // Act
    const body = await client(api.fetchImpl).json<{ items: unknown[] }>('GET', '/v1/tasks');

    // Assess
    expect(body).toEqual({ items: [] });
    expect(api.calls.map((c) => `${c.path} ${c.authorization ?? ''}`)).toEqual(['/v1/tasks Bearer access-1', '/v1/auth/refresh ', '/v1/tasks Bearer access-2']);
    expect(api.calls[1]!.body).toEqual({ refreshToken: token('refresh1') });
    expect(await store.get(ENDPOINT)).toMatchObject({ accessToken: 'access-2', refreshToken: token('refresh2'), accessExpiresAt: new Date(NOW + 900_000).toISOString() });
  });

  it('refreshes before a request when the access token is about to expire', async () => {
    // Prepare
    await store.set(ENDPOINT, { accessToken: 'access-1', refreshToken: token('refresh1'), accessExpiresAt: new Date(NOW + REFRESH_MARGIN_MS - 1).toISOString() });
    const api = fakeApi(() => json(200, {}));

    // Act
    await client(api.fetchImpl).request('GET', '/v1/me');

    // Assess
    expect(api.calls.map((c) => c.path)).toEqual(['/v1/auth/refresh', '/v1/me']);
    expect(api.calls[1]!.authorization).toBe('Bearer access-2');
  });

  it('uses tokens another process rotated meanwhile instead of presenting the used refresh token again', async () => {
    // Prepare: the stored session changes between reading it and refreshing.
    const api = fakeApi((call) => {
      if (call.authorization === 'Bearer access-1') return problem(401, 'unauthorized', 'expired');
      return json(200, { ok: true });
    });
    const c = client(api.fetchImpl);
    const original = store.get.bind(store);
    let reads = 0;
    jest.spyOn(store, 'get').mockImplementation(async (endpoint) => {
      reads += 1;
      if (reads === 1) return original(endpoint);
      return { accessToken: 'access-other', refreshToken: token('other'), accessExpiresAt: new Date(NOW + 600_000).toISOString() };
    });

    // Act
    await c.request('GET', '/v1/me');

    // Assess
    expect(api.calls.map((call) => call.path)).not.toContain('/v1/auth/refresh');
    expect(api.calls[1]!.authorization).toBe('Bearer access-other');
  });

  it('forgets the session and exits with the authentication code when the refresh token is refused', async () => {
    // Prepare
    const api = fakeApi(() => problem(401, 'unauthorized', 'expired'), () => problem(401, 'invalid_refresh_token', 'used'));

    // Act
    const error = await client(api.fetchImpl).request('GET', '/v1/tasks').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT.auth);
    expect((error as CliError).message).toContain('run untxt login');
    expect(await store.get(ENDPOINT)).toBeUndefined();
  });

  it('says "not logged in" with the authentication code when no tokens are stored for the endpoint', async () => {
    // Prepare
    const api = fakeApi(() => json(200, {}));
    const other = new ApiClient({ endpoint: 'http://elsewhere.test', store, fetch: api.fetchImpl });

    // Act
    const error = await other.request('GET', '/v1/tasks').catch((e: unknown) => e);

    // Assess
    expect((error as CliError).exitCode).toBe(EXIT.auth);
    expect((error as CliError).code).toBe('not_logged_in');
    expect(api.calls).toHaveLength(0);
  });

  it('turns a problem document into "code: detail" with one line per field, and its status into an exit code', async () => {
    // Prepare
    const api = fakeApi(() =>
      problem(400, 'validation_failed', 'The request is invalid.', { errors: [{ field: 'size', message: 'must be at least 1 byte' }] }),
    );

    // Act
    const error = (await client(api.fetchImpl).request('POST', '/v1/tasks', { body: {} }).catch((e: unknown) => e)) as CliError;

    // Assess
    expect(error.message).toBe('validation_failed: The request is invalid.\n  - size: must be at least 1 byte');
    expect(error.code).toBe('validation_failed');
    expect(error.exitCode).toBe(EXIT.refused);
  });

  it('maps statuses to the documented exit codes', () => {
    // Assess
    expect([401, 403, 404, 400, 409, 413, 429, 500, 503].map(exitCodeForStatus)).toEqual([2, 2, 3, 6, 6, 6, 6, 5, 5]);
  });

  it('reports an unreachable service with the network exit code', async () => {
    // Prepare
    const failing = (async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    }) as typeof fetch;

    // Act
    const error = (await client(failing).request('GET', '/v1/tasks').catch((e: unknown) => e)) as CliError;

    // Assess
    expect(error.exitCode).toBe(EXIT.unavailable);
    expect(error.message).toBe('cannot reach http://untxt.test: ECONNREFUSED');
  });

  it("reports the object store's refusal of an upload by its S3 error code", async () => {
    // Prepare
    const refusing = (async () =>
      new Response('<Error><Code>BadDigest</Code><Message>The SHA256 you specified did not match what we received.</Message></Error>', { status: 400 })) as typeof fetch;

    // Act
    const error = (await client(refusing).upload('http://untxt.test/s3/x', 'PUT', {}, new Uint8Array([1])).catch((e: unknown) => e)) as CliError;

    // Assess
    expect(error.code).toBe('BadDigest');
    expect(error.exitCode).toBe(EXIT.refused);
    expect(error.message).toContain('upload refused by the object store: BadDigest');
  });
});
