process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
import * as health from '../../lambdas/api/health';
import * as login from '../../lambdas/api/auth/login';
import * as me from '../../lambdas/api/auth/me';
import * as register from '../../lambdas/api/auth/register';
import { openApiHarness, principalOf, type ApiHarness } from '../api/support/api-harness';
import { proxyEvent } from './support/events';

describe('the auth route handlers', () => {
  let harness: ApiHarness;

  beforeAll(async () => {
    harness = await openApiHarness();
  });

  afterAll(async () => {
    await harness.database.dispose();
  });

  const withHarness = <T extends { withDeps: typeof me.withDeps }>(module: T) => module.withDeps(() => harness.deps);

  it('register and login answer through API Gateway events, and me reads the authorizer context', async () => {
    // Prepare
    const body = { email: 'handler@example.com', password: 'a long handler password' };

    // Act
    const registered = await withHarness(register)(proxyEvent({ method: 'POST', body }));
    const loggedIn = await withHarness(login)(proxyEvent({ method: 'POST', body }));
    const principal = principalOf((JSON.parse(loggedIn.body) as { accessToken: string }).accessToken);
    const who = await withHarness(me)(proxyEvent({ principal }));

    // Assess
    expect(registered.statusCode).toBe(201);
    expect(loggedIn.statusCode).toBe(200);
    expect(loggedIn.headers!['cache-control']).toBe('no-store');
    expect(JSON.parse(who.body)).toEqual({ user: { id: principal.userId, email: 'handler@example.com', role: 'user' } });
  });

  it('refuses an unknown body field with a 400 problem naming it', async () => {
    // Act
    const reply = await withHarness(login)(proxyEvent({ method: 'POST', body: { email: 'a@example.com', password: 'x', remember: true } }));

    // Assess
    expect(reply.statusCode).toBe(400);
    expect(reply.headers!['content-type']).toBe('application/problem+json');
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'validation_failed', errors: [{ field: 'remember', message: 'is not a known field' }] });
  });

  it('answers me without an authorizer principal with 401', async () => {
    // Act
    const reply = await withHarness(me)(proxyEvent());

    // Assess
    expect(reply.statusCode).toBe(401);
    expect(reply.headers!['www-authenticate']).toBe('Bearer');
  });

  it('reports the database on /health', async () => {
    // Act
    const reply = await withHarness(health)(proxyEvent({ path: '/health' }));

    // Assess
    expect(reply.statusCode).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ status: 'ok', parts: { database: { status: 'ok', kind: 'pglite' } } });
  });

  it('reports 503 with Retry-After when the database does not answer', async () => {
    // Prepare
    const broken = { ...harness.deps, db: { ...harness.deps.db, kind: 'postgres' as const, query: () => Promise.reject(new Error('ECONNREFUSED')) } };

    // Act
    const reply = await health.withDeps(() => broken)(proxyEvent({ path: '/health' }));

    // Assess
    expect(reply.statusCode).toBe(503);
    expect(reply.headers!['retry-after']).toBe('15');
    expect(JSON.parse(reply.body)).toEqual({ status: 'degraded', parts: { database: { status: 'error', error: 'unavailable', kind: 'postgres' } } });
  });
});
