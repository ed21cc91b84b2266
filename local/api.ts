import { join, resolve } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../src/adapters/clock';
import { defaultApiConfig, type RegistrationMode } from '../src/api/config';
import type { ApiDeps, TicketStore } from '../src/api/deps';
import { authorizeBearer } from '../src/auth/authorizer';
import { ensureFirstAdmin, type FirstAdminResult } from '../src/auth/first-admin';
import { scryptHasher } from '../src/auth/password';
import { loadOrCreateLocalSigningKeys } from '../src/auth/signing-keys-local';
import type { Database } from '../src/db/database';
import type { EventBus } from '../src/ports/event-bus';
import type { ObjectStore } from '../src/ports/object-store';
import type { ConnectionStore } from '../src/realtime/connection-store';
import { InMemoryTicketStore } from '../src/realtime/tickets/memory-ticket-store';
import { isRouteModule } from '../lambdas/api/define-handler';
import { ROUTES, type RouteSpec } from '../lambdas/api/routes';
import { gatewayRoute } from './api-gateway';
import type { Router } from './router';

const REPO_ROOT = resolve(__dirname, '..');

/** Routes local mode answers itself: its /health reports every local part, not just the database. */
const LOCAL_OWN_ROUTES = new Set(['health']);

export interface LocalApiParts {
  dataDir: string;
  db: Database;
  objectStore: ObjectStore;
  eventBus: EventBus;
  logger: Logger;
  registrationMode: RegistrationMode;
  maxUploadBytes: number;
  /** The /ws server's store too: what disable-user deletes is what the local notifier reads. */
  connections: ConnectionStore;
  tickets?: TicketStore;
}

/** The API's dependencies in local mode: the same cores as in AWS, over the embedded parts. */
export async function buildLocalApiDeps(parts: LocalApiParts): Promise<ApiDeps> {
  const config = defaultApiConfig({ registrationMode: parts.registrationMode });
  return {
    db: parts.db,
    objectStore: parts.objectStore,
    eventBus: parts.eventBus,
    tickets: parts.tickets ?? new InMemoryTicketStore(systemClock),
    connections: parts.connections,
    clock: systemClock,
    signingKeys: await loadOrCreateLocalSigningKeys(parts.dataDir),
    passwords: scryptHasher(),
    config: { ...config, limits: { ...config.limits, maxUploadBytes: parts.maxUploadBytes } },
    logger: parts.logger,
  };
}

export interface MountedApi {
  deps: ApiDeps;
  /** Set only on the start that created the first admin: print it once, never log it. */
  firstAdmin?: Extract<FirstAdminResult, { created: true }>;
}

/** Local API start-up: dependencies, the first admin on a fresh database, every route mounted. */
export async function startLocalApi(router: Router, parts: LocalApiParts): Promise<MountedApi> {
  const deps = await buildLocalApiDeps(parts);
  const firstAdmin = await ensureFirstAdmin(deps.db, deps.passwords);
  const mounted = mountApi(router, deps);
  return firstAdmin.created ? { ...mounted, firstAdmin } : mounted;
}

/** The once-only terminal notice for the first admin's credentials. */
export function firstAdminNotice(admin: Extract<FirstAdminResult, { created: true }>): string {
  return [
    '',
    'First start: an admin account was created. These credentials are shown only now:',
    `  email        ${admin.email}`,
    `  password     ${admin.password}`,
    `  TOTP secret  ${admin.totpSecret}`,
    `  TOTP URI     ${admin.totpUri}`,
    'Add the TOTP secret to an authenticator app; admin routes need its code at login ("totp").',
    '',
  ].join('\n');
}

/**
 * Mounts every ROUTES entry on the local router: the entry file's `withDeps` handler behind the
 * local API Gateway stand-in (body cap, authorizer core for non-public routes, proxy events).
 */
export function mountApi(router: Router, deps: ApiDeps, routes: readonly RouteSpec[] = ROUTES): MountedApi {
  const authorize = (authorization: string | undefined) =>
    authorizeBearer(authorization, { keys: deps.signingKeys, settings: deps.config.tokens, clock: deps.clock });
  for (const route of routes) {
    if (LOCAL_OWN_ROUTES.has(route.id)) continue;
    const file = join(REPO_ROOT, route.entry);
    // Loaded by path, so the manifest and what is mounted cannot disagree.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module: unknown = require(file);
    if (!isRouteModule(module)) throw new Error(`${route.entry} does not export handler and withDeps`);
    router.on(route.method, route.path, gatewayRoute(route, module.withDeps(() => deps), { authorize }));
  }
  return { deps };
}
