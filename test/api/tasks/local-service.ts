import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../local/config';
import { createLogger } from '../../../local/logger';
import { startLocalService, type LocalService } from '../../../local/service';

export interface RunningService {
  service: LocalService;
  stop(): Promise<void>;
}

/**
 * `npm start`'s service in this process on a free port, its data folder seeded with the migrated
 * PGlite template when global setup made one (saves initdb's seconds). Everything goes through
 * real HTTP: the local API Gateway stand-in, the authorizer core, the route entry files.
 */
export async function startService(env: Record<string, string> = {}): Promise<RunningService> {
  const dataDir = mkdtempSync(join(tmpdir(), 'untxt-api-test-'));
  const template = process.env.UNTXT_TEST_PGLITE_TEMPLATE;
  if (template) cpSync(template, join(dataDir, 'pgdata'), { recursive: true });
  const service = await startLocalService(loadConfig({ PORT: '0', UNTXT_DATA_DIR: dataDir, ...env }), { logger: createLogger('SILENT') });
  return {
    service,
    stop: async () => {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Account {
  email: string;
  token: string;
  userId: string;
}

/** Registers and logs in over HTTP, as a client would. */
export async function account(service: LocalService, name: string): Promise<Account> {
  const email = `${name}@example.com`;
  const password = `${name} correct horse battery staple`;
  const post = (path: string, body: unknown) =>
    fetch(`${service.apiUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const registered = await post('/auth/register', { email, password });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}: ${await registered.text()}`);
  const { user } = (await registered.json()) as { user: { id: string } };
  const login = await post('/auth/login', { email, password });
  if (login.status !== 200) throw new Error(`login answered ${login.status}`);
  const { accessToken } = (await login.json()) as { accessToken: string };
  return { email, token: accessToken, userId: user.id };
}

export function authorized(token: string, init: RequestInit = {}): RequestInit {
  return { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } };
}
