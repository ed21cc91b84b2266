/**
 * `npm run bench` (API part): every route's in-process latency through its Lambda entry file
 * (proxy event → adapter → core → PGlite and local adapters), against a no-op core through the
 * same adapter in the same process. Reported as median and p99 in ms and as ratios to the
 * no-op's median, which is what carries across machines. Then each route's Lambda bundle, built
 * with lib/node-function.ts's esbuild options (minified, CommonJS, node24, pg-native external).
 *
 * Register and login hash with the production scrypt parameters, so they are slow on purpose.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { build } from 'esbuild';
import { createLogger } from '../local/logger';
import { toLambdaHandler, type ProxyHandler } from '../lambdas/api/http-handler';
import { isRouteModule } from '../lambdas/api/define-handler';
import { ROUTES, type RouteId } from '../lambdas/api/routes';
import { systemClock } from '../src/adapters/clock';
import { InProcessEventBus } from '../src/adapters/local/in-process-event-bus';
import { loadOrCreateLocalCredentials } from '../src/adapters/local/local-credentials';
import { LocalObjectStore } from '../src/adapters/local/local-object-store';
import { defaultApiConfig } from '../src/api/config';
import type { ApiDeps } from '../src/api/deps';
import { newOpaqueToken, tokenHash } from '../src/auth/opaque-token';
import { scryptHasher } from '../src/auth/password';
import { generateSigningJwks, staticSigningKeys } from '../src/auth/signing-keys';
import { runMigrations } from '../src/db/migrate';
import { openPgliteDatabase } from '../src/db/pglite-database';
import { createSession } from '../src/db/repositories/sessions';
import { createUser } from '../src/db/repositories/users';
import { json, type Principal } from '../src/http/request';
import { InMemoryConnectionStore } from '../src/realtime/memory-connection-store';
import { InMemoryTicketStore } from '../src/realtime/tickets/memory-ticket-store';
import { completedTask } from '../test/api/tasks/task-harness';
import { proxyEvent, type EventInput } from '../test/lambdas/support/events';

const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? 200);
/** scrypt at N=2^17 costs a few hundred ms a call. */
const SLOW_ROUNDS = Number(process.env.BENCH_API_SLOW_ROUNDS ?? 10);
const REPO_ROOT = resolve(__dirname, '..');

async function latencies(handler: ProxyHandler, rounds: number, event: (i: number) => Promise<APIGatewayProxyEvent> | APIGatewayProxyEvent): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < rounds + 3; i++) {
    const e = await event(i);
    const start = performance.now();
    const result = await handler(e);
    const ms = performance.now() - start;
    if (result.statusCode >= 400) throw new Error(`${e.httpMethod} ${e.path} answered ${result.statusCode}: ${result.body}`);
    if (i >= 3) times.push(ms); // the first calls warm the adapter and the database's plans
  }
  return times.sort((a, b) => a - b);
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'untxt-bench-api-'));
  const db = await openPgliteDatabase();
  try {
    await runMigrations(db);
    const store = new LocalObjectStore({ rootDir: dir, bucket: 'bench', credentials: await loadOrCreateLocalCredentials(dir), endpoint: () => 'http://127.0.0.1:9/s3' });
    await store.init();
    const bus = new InProcessEventBus();
    const config = defaultApiConfig({ registrationMode: 'open', websocketUrl: 'wss://ws.example.test/prod' });
    config.limits = { ...config.limits, maxConcurrentTasks: 1_000_000, maxPagesPerDay: 1_000_000, maxBytesPerDay: Number.MAX_SAFE_INTEGER };
    const deps: ApiDeps = {
      db,
      objectStore: store,
      eventBus: bus,
      tickets: new InMemoryTicketStore(systemClock),
      connections: new InMemoryConnectionStore(systemClock),
      clock: systemClock,
      signingKeys: staticSigningKeys(await generateSigningJwks()),
      passwords: scryptHasher(),
      config,
      logger: createLogger('SILENT'),
    };

    const password = 'bench correct horse battery';
    const session = async (userId: string, role: Principal['role']): Promise<{ principal: Principal; refreshToken: string }> => {
      const refreshToken = newOpaqueToken();
      const s = await createSession(db, { userId, tokenHash: tokenHash(refreshToken), expiresAt: new Date(Date.now() + 3600_000) });
      return { principal: { userId, role, sessionId: s.familyId, mfa: role === 'admin' }, refreshToken };
    };
    const user = await createUser(db, { email: 'bench-user@example.com', passwordHash: await deps.passwords.hash(password) });
    const admin = await createUser(db, { email: 'bench-admin@example.com', passwordHash: 'x', role: 'admin' });
    const victim = await createUser(db, { email: 'bench-victim@example.com', passwordHash: 'x' });
    const { principal } = await session(user.id, 'user');
    const adminPrincipal = (await session(admin.id, 'admin')).principal;
    const harness = { deps: { db }, store };
    const done = await completedTask(harness, user.id);
    const total = ROUNDS + 3;
    const deletable = await Promise.all(Array.from({ length: total }, () => completedTask(harness, user.id).then((t) => t.taskId)));
    const sessions = await Promise.all(Array.from({ length: total }, () => session(user.id, 'user')));

    const asUser = (input: EventInput): APIGatewayProxyEvent => proxyEvent({ principal, ...input });
    const asAdmin = (input: EventInput): APIGatewayProxyEvent => proxyEvent({ principal: adminPrincipal, ...input });
    const events: Record<RouteId, { rounds: number; event: (i: number) => APIGatewayProxyEvent }> = {
      register: { rounds: SLOW_ROUNDS, event: () => proxyEvent({ method: 'POST', body: { email: `r-${randomUUID()}@example.com`, password } }) },
      login: { rounds: SLOW_ROUNDS, event: () => proxyEvent({ method: 'POST', body: { email: 'bench-user@example.com', password } }) },
      refresh: { rounds: ROUNDS, event: (i) => proxyEvent({ method: 'POST', body: { refreshToken: sessions[i]!.refreshToken } }) },
      logout: { rounds: ROUNDS, event: (i) => proxyEvent({ method: 'POST', principal: { ...principal, sessionId: sessions[i]!.principal.sessionId } }) },
      me: { rounds: ROUNDS, event: () => asUser({}) },
      createTask: { rounds: ROUNDS, event: () => asUser({ method: 'POST', body: { filename: 'scan.pdf', contentType: 'application/pdf', size: 1024, sha256: 'ab'.repeat(32) } }) },
      listTasks: { rounds: ROUNDS, event: () => asUser({ query: { limit: '20' } }) },
      getTask: { rounds: ROUNDS, event: () => asUser({ pathParameters: { id: done.taskId } }) },
      getResult: { rounds: ROUNDS, event: (i) => asUser({ pathParameters: { id: done.taskId }, query: { format: (['html', 'text', 'json'] as const)[i % 3] } }) },
      getPageImage: { rounds: ROUNDS, event: () => asUser({ pathParameters: { id: done.taskId, page: '1' } }) },
      deleteTask: { rounds: ROUNDS, event: (i) => asUser({ method: 'DELETE', pathParameters: { id: deletable[i]! } }) },
      wsTicket: { rounds: ROUNDS, event: () => asUser({ method: 'POST' }) },
      adminListUsers: { rounds: ROUNDS, event: () => asAdmin({ query: { limit: '20' } }) },
      adminDisableUser: { rounds: ROUNDS, event: () => asAdmin({ method: 'POST', pathParameters: { id: victim.id } }) },
      adminEnableUser: { rounds: ROUNDS, event: () => asAdmin({ method: 'POST', pathParameters: { id: victim.id } }) },
      adminInvite: { rounds: ROUNDS, event: () => asAdmin({ method: 'POST' }) },
      openapi: { rounds: ROUNDS, event: () => proxyEvent({}) },
      health: { rounds: ROUNDS, event: () => proxyEvent({}) },
    };

    const baseline = await latencies(toLambdaHandler(async () => json(200, { ok: true }), () => deps), ROUNDS, () => proxyEvent({}));
    const baselineMedian = quantile(baseline, 0.5);
    const rows: Array<Record<string, string | number>> = [{ route: 'no-op core (baseline)', rounds: ROUNDS, 'median ms': round(baselineMedian), 'p99 ms': round(quantile(baseline, 0.99)), 'median ÷ baseline': 1 }];
    for (const route of ROUTES) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const module: unknown = require(join(REPO_ROOT, route.entry));
      if (!isRouteModule(module)) throw new Error(`${route.entry} does not export handler and withDeps`);
      const spec = events[route.id];
      const times = await latencies(module.withDeps(() => deps), spec.rounds, spec.event);
      rows.push({ route: route.id, rounds: spec.rounds, 'median ms': round(quantile(times, 0.5)), 'p99 ms': round(quantile(times, 0.99)), 'median ÷ baseline': round(quantile(times, 0.5) / baselineMedian) });
    }
    console.log('\nuntxt API handlers, in process on PGlite (Lambda entry → adapter → core)');
    console.table(rows);
    await bus.close();

    console.log('\nLambda bundles (esbuild, minified, CommonJS, node24; as lib/node-function.ts)');
    const sizes: Array<Record<string, string | number>> = [];
    // The token authorizer is no route but runs before most of them: its bundle counts as much.
    for (const route of [...ROUTES, { id: 'authorizer', entry: 'lambdas/authorizer/handler.ts' }]) {
      const result = await build({
        entryPoints: [join(REPO_ROOT, route.entry)],
        bundle: true,
        minify: true,
        platform: 'node',
        format: 'cjs',
        target: 'node24',
        external: ['pg-native'],
        write: false,
        logLevel: 'silent',
      });
      const bytes = result.outputFiles.reduce((sum, f) => sum + f.contents.byteLength, 0);
      sizes.push({ route: route.id, entry: route.entry, KB: Math.round(bytes / 1024) });
    }
    console.table(sizes);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(n: number): number {
  return Number(n.toFixed(n < 10 ? 3 : 1));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
