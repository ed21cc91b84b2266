import { ManualClock } from '../../../src/adapters/clock';
import { defaultApiConfig, type ApiConfig, type RegistrationMode } from '../../../src/api/config';
import { notConfigured, type ApiDeps, type TicketStore } from '../../../src/api/deps';
import { scryptHasher } from '../../../src/auth/password';
import { generateSigningJwks, staticSigningKeys } from '../../../src/auth/signing-keys';
import type { ApiRequest, ApiResponse, Principal } from '../../../src/http/request';
import { ApiError, problemResponse } from '../../../src/http/problem';
import type { EventBus } from '../../../src/ports/event-bus';
import type { ObjectStore } from '../../../src/ports/object-store';
import { createLogger } from '../../../local/logger';
import { InMemoryConnectionStore } from '../../../src/realtime/memory-connection-store';
import type { Database } from '../../../src/db/database';
import { pgliteBackend, type ApiBackend, type ApiTestDatabase } from './backends';

/** Cheap scrypt for tests (the format and the default parameters have tests of their own). */
export const TEST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };

export interface ApiHarness {
  deps: ApiDeps;
  clock: ManualClock;
  database: ApiTestDatabase;
  /** The schema owner: for fixtures and assertions beyond the API role's grants (see backends.ts). */
  owner: Database;
}

/**
 * API dependencies over a migrated database (PGlite unless a backend is given), a manual clock (starting now, since the
 * database's own now() decides session and invite expiry), fresh signing keys and a cheap hasher.
 */
export async function openApiHarness(
  overrides: { registrationMode?: RegistrationMode; config?: Partial<ApiConfig>; backend?: ApiBackend } = {},
): Promise<ApiHarness> {
  const database = await (overrides.backend ?? pgliteBackend).open();
  const clock = new ManualClock(new Date());
  const deps: ApiDeps = {
    db: database.db,
    objectStore: notConfigured<ObjectStore>('objectStore'),
    eventBus: notConfigured<EventBus>('eventBus'),
    tickets: notConfigured<TicketStore>('tickets'),
    connections: new InMemoryConnectionStore(clock),
    clock,
    signingKeys: staticSigningKeys(await generateSigningJwks()),
    passwords: scryptHasher(TEST_SCRYPT),
    config: { ...defaultApiConfig({ registrationMode: overrides.registrationMode ?? 'open' }), ...overrides.config },
    logger: createLogger('SILENT'),
  };
  return { deps, clock, database, owner: database.owner };
}

let counter = 0;

export function apiRequest(input: Partial<ApiRequest> = {}): ApiRequest {
  counter += 1;
  return {
    method: 'POST',
    path: '/',
    pathParameters: {},
    query: {},
    headers: {},
    body: undefined,
    requestId: `req-${counter}`,
    sourceIp: '203.0.113.9',
    userAgent: 'jest',
    ...input,
  };
}

/** Runs a core the way the adapter does: an ApiError becomes its problem response. */
export async function run(
  core: (req: ApiRequest, deps: ApiDeps) => Promise<ApiResponse>,
  deps: ApiDeps,
  input: Partial<ApiRequest>,
): Promise<{ status: number; headers: Record<string, string>; body: Record<string, unknown> }> {
  try {
    const response = await core(apiRequest(input), deps);
    return { status: response.status, headers: response.headers ?? {}, body: (response.body ?? {}) as Record<string, unknown> };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const problem = problemResponse(error, 'test');
    return { status: problem.status, headers: problem.headers ?? {}, body: JSON.parse(problem.rawBody!.body) as Record<string, unknown> };
  }
}

/** The principal an access token carries, as the authorizer would pass it on. */
export function principalOf(accessToken: string): Principal {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  return { userId: String(payload.sub), role: payload.role as Principal['role'], sessionId: String(payload.sid), mfa: payload.mfa === true };
}
