import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../local/config';
import { createLogger } from '../../../local/logger';
import { startLocalService, type LocalService } from '../../../local/service';
import { totpCode } from '../../../src/auth/totp';

const logger = createLogger('SILENT');

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

describe('accounts through the local server', () => {
  let dataDir: string;
  let service: LocalService;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'untxt-auth-flow-'));
    service = await startLocalService(loadConfig({ PORT: '0', UNTXT_DATA_DIR: dataDir }), { logger });
  });

  afterAll(async () => {
    await service.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function call(method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(`${service.apiUrl}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  }

  it('registers, logs in, answers me, rotates the refresh token and logs out', async () => {
    // Prepare
    const credentials = { email: 'Flow.User@example.com', password: 'a long enough password' };

    // Act
    const registered = await call('POST', '/auth/register', { body: credentials });
    const login = await call('POST', '/auth/login', { body: { email: 'flow.user@example.com', password: credentials.password } });
    const tokens = login.body as { accessToken: string; refreshToken: string };
    const me = await call('GET', '/me', { token: tokens.accessToken });
    const refreshed = await call('POST', '/auth/refresh', { body: { refreshToken: tokens.refreshToken } });
    const next = refreshed.body as { accessToken: string; refreshToken: string };
    const logout = await call('POST', '/auth/logout', { token: next.accessToken });
    const meAfterLogout = await call('GET', '/me', { token: next.accessToken });
    const refreshAfterLogout = await call('POST', '/auth/refresh', { body: { refreshToken: next.refreshToken } });

    // Assess
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({ user: { id: expect.any(String), email: 'Flow.User@example.com', role: 'user' } });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: registered.body!.user });
    expect(refreshed.status).toBe(200);
    expect(next.refreshToken).not.toBe(tokens.refreshToken);
    expect(logout.status).toBe(204);
    expect(meAfterLogout.status).toBe(401);
    expect(refreshAfterLogout.status).toBe(401);
  });

  it('refuses me without a token as a problem document, as the gateway would', async () => {
    // Act
    const reply = await call('GET', '/me');

    // Assess
    expect(reply.status).toBe(401);
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
    expect(reply.body).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('created a first admin whose TOTP login may use the admin routes', async () => {
    // Prepare
    const admin = service.api.firstAdmin!;

    // Act
    const withoutTotp = await call('POST', '/auth/login', { body: { email: admin.email, password: admin.password } });
    const refused = await call('GET', '/admin/users', { token: (withoutTotp.body as { accessToken: string }).accessToken });
    const withTotp = await call('POST', '/auth/login', {
      body: { email: admin.email, password: admin.password, totp: totpCode(admin.totpSecret, new Date()) },
    });
    const listed = await call('GET', '/admin/users', { token: (withTotp.body as { accessToken: string }).accessToken });

    // Assess
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'mfa_required' });
    expect(listed.status).toBe(200);
    expect((listed.body as { items: Array<{ email: string }> }).items.map((u) => u.email)).toContain(admin.email);
  });

  it('refuses an oversized body with 413', async () => {
    // Act
    const reply = await call('POST', '/auth/login', { body: { email: 'a@example.com', password: 'x'.repeat(2 * 1024 * 1024) } });

    // Assess
    expect(reply.status).toBe(413);
  });
});
