import { createInviteCore } from '../../../src/api/admin/invites';
import { disableUserCore, enableUserCore, listUsersCore } from '../../../src/api/admin/users';
import { loginCore } from '../../../src/api/auth/login';
import { logoutCore } from '../../../src/api/auth/logout';
import { meCore } from '../../../src/api/auth/me';
import { refreshCore } from '../../../src/api/auth/refresh';
import { registerCore } from '../../../src/api/auth/register';
import type { ApiDeps } from '../../../src/api/deps';
import { ensureFirstAdmin } from '../../../src/auth/first-admin';
import { scryptHasher } from '../../../src/auth/password';
import { totpCode } from '../../../src/auth/totp';
import type { RegistrationMode } from '../../../src/api/config';
import { openApiHarness, principalOf, run, type ApiHarness } from '../support/api-harness';
import type { ApiBackend } from '../support/backends';

const PASSWORD = 'a perfectly long password';

/**
 * Registration, login, sessions and the admin routes, registered per database backend by
 * auth-cores.pglite.test.ts and auth-cores.postgres.test.ts (on the server as untxt_api).
 */
export function registerAuthCoresSuite(backend: ApiBackend): void {
  describe(`account and auth cores on ${backend.name}`, () => {
    let harness: ApiHarness;
    let deps: ApiDeps;
    let n = 0;

    beforeAll(async () => {
      harness = await openApiHarness({ backend });
      deps = harness.deps;
    });

    afterAll(async () => {
      await harness.database.dispose();
    });

    const email = (): string => `user${(n += 1)}@example.com`;
    const withMode = (mode: RegistrationMode): ApiDeps => ({ ...deps, config: { ...deps.config, registrationMode: mode } });

    async function register(address = email(), d: ApiDeps = deps) {
      return run(registerCore, d, { body: { email: address, password: PASSWORD } });
    }

    async function login(body: Record<string, unknown>, d: ApiDeps = deps, sourceIp = '203.0.113.9') {
      return run(loginCore, d, { body, sourceIp });
    }

    async function userSession(): Promise<{ email: string; accessToken: string; refreshToken: string }> {
      const address = email();
      await register(address);
      const { body } = await login({ email: address, password: PASSWORD });
      return { email: address, accessToken: String(body.accessToken), refreshToken: String(body.refreshToken) };
    }

    async function adminSession(): Promise<{ accessToken: string; refreshToken: string; withoutMfa: string }> {
      const admin = await ensureFirstAdmin(deps.db, deps.passwords, { email: 'root@example.com', password: PASSWORD });
      const secret = admin.created ? admin.totpSecret : adminTotp;
      adminTotp = secret;
      const plain = await login({ email: 'root@example.com', password: PASSWORD });
      harness.clock.advance(30_000); // one TOTP step per login: codes are single-use
      const mfa = await login({ email: 'root@example.com', password: PASSWORD, totp: totpCode(secret, deps.clock.now()) });
      return { accessToken: String(mfa.body.accessToken), refreshToken: String(mfa.body.refreshToken), withoutMfa: String(plain.body.accessToken) };
    }
    let adminTotp = '';

    describe('registration', () => {
      it('creates an account and answers 201 with the user', async () => {
        // Act
        const reply = await register('New.Person@example.com');

        // Assess
        expect(reply.status).toBe(201);
        expect(reply.body).toEqual({ user: { id: expect.any(String), email: 'New.Person@example.com', role: 'user' } });
      });

      it('refuses a second account for the same address in another case with 409', async () => {
        // Prepare
        await register('twice@example.com');

        // Act
        const reply = await register('TWICE@example.com');

        // Assess
        expect(reply.status).toBe(409);
        expect(reply.body).toMatchObject({ code: 'email_taken' });
      });

      it('refuses an unknown field, naming it, and stores nothing', async () => {
        // Act
        const reply = await run(registerCore, deps, { body: { email: 'sneaky@example.com', password: PASSWORD, role: 'admin' } });

        // Assess
        expect(reply.status).toBe(400);
        expect(reply.body).toMatchObject({ code: 'validation_failed', errors: [{ field: 'role', message: 'is not a known field' }] });
        expect((await login({ email: 'sneaky@example.com', password: PASSWORD })).status).toBe(401);
      });

      it('in invite mode, needs a code, uses it up, and refuses it a second time', async () => {
        // Prepare
        const admin = await adminSession();
        const invite = await run(createInviteCore, deps, { principal: principalOf(admin.accessToken) });
        const inviteDeps = withMode('invite');
        const code = String(invite.body.code);

        // Act
        const withoutCode = await register(email(), inviteDeps);
        const first = await run(registerCore, inviteDeps, { body: { email: email(), password: PASSWORD, inviteCode: code } });
        const second = await run(registerCore, inviteDeps, { body: { email: email(), password: PASSWORD, inviteCode: code } });

        // Assess
        expect(invite.status).toBe(201);
        expect(withoutCode.status).toBe(400);
        expect(withoutCode.body).toMatchObject({ errors: [{ field: 'inviteCode', message: expect.stringMatching(/required/) }] });
        expect(first.status).toBe(201);
        expect(second.status).toBe(403);
        expect(second.body).toMatchObject({ code: 'invalid_invite' });
      });

      it('in approval mode, keeps the account out until an admin enables it', async () => {
        // Prepare
        const admin = await adminSession();
        const address = email();

        // Act
        const registered = await register(address, withMode('approval'));
        const before = await login({ email: address, password: PASSWORD });
        const enabled = await run(enableUserCore, deps, {
          principal: principalOf(admin.accessToken),
          pathParameters: { id: String((registered.body.user as { id: string }).id) },
        });
        const after = await login({ email: address, password: PASSWORD });

        // Assess
        expect(registered.body).toMatchObject({ approvalPending: true });
        expect(before.status).toBe(403);
        expect(before.body).toMatchObject({ code: 'approval_pending' });
        expect(enabled.body).toMatchObject({ user: { status: 'active' } });
        expect(after.status).toBe(200);
      });
    });

    describe('login', () => {
      it('answers an unknown email exactly like a wrong password, after the same hashing work', async () => {
        // Prepare
        const address = email();
        await register(address);
        const dummy = jest.spyOn(deps.passwords, 'dummyVerify');

        // Act
        const unknown = await login({ email: 'nobody@example.com', password: PASSWORD });
        const wrong = await login({ email: address, password: 'not the password at all' });

        // Assess
        expect(unknown.status).toBe(401);
        expect({ ...unknown.body, instance: undefined, requestId: undefined }).toEqual({ ...wrong.body, instance: undefined, requestId: undefined });
        expect(unknown.body).toMatchObject({ code: 'invalid_credentials' });
        expect(dummy).toHaveBeenCalledTimes(1);
        dummy.mockRestore();
      });

      it('locks an account after the configured failures with 429 and Retry-After, even for the right password, until the lock ends', async () => {
        // Prepare
        const address = email();
        await register(address);
        for (let i = 0; i < deps.config.login.maxFailures; i += 1) await login({ email: address, password: 'wrong password!' });

        // Act
        const locked = await login({ email: address, password: PASSWORD });
        harness.clock.advance(deps.config.login.lockSeconds * 1000);
        const later = await login({ email: address, password: PASSWORD });

        // Assess
        expect(locked.status).toBe(429);
        expect(locked.headers['retry-after']).toBe(String(deps.config.login.lockSeconds));
        expect(locked.body).toMatchObject({ code: 'rate_limited' });
        expect(later.status).toBe(200);
      });

      it('answers an unknown email exactly like a registered one through failures and lock, each attempt paying the hash', async () => {
        // Prepare
        const known = email();
        const unknown = email();
        await register(known);
        const verify = jest.spyOn(deps.passwords, 'verify');
        const dummy = jest.spyOn(deps.passwords, 'dummyVerify');
        const attempts = deps.config.login.maxFailures + 2;

        // Act
        const knownReplies = [];
        for (let i = 0; i < attempts; i += 1) knownReplies.push(await login({ email: known, password: 'wrong password!' }));
        const knownVerifies = verify.mock.calls.length;
        const unknownReplies = [];
        for (let i = 0; i < attempts; i += 1) unknownReplies.push(await login({ email: unknown, password: 'wrong password!' }));
        const dummies = dummy.mock.calls.length;
        verify.mockRestore();
        dummy.mockRestore();

        // Assess
        expect(unknownReplies).toEqual(knownReplies);
        expect(knownReplies.map((r) => r.status)).toEqual([...Array<number>(deps.config.login.maxFailures).fill(401), 429, 429]);
        expect(knownReplies.at(-1)!.headers['retry-after']).toBe(String(deps.config.login.lockSeconds));
        expect(knownVerifies).toBe(attempts);
        expect(dummies).toBe(attempts);
      });

      it('keeps a lock caused from one address to that address: the owner elsewhere still logs in', async () => {
        // Prepare
        const address = email();
        await register(address);
        for (let i = 0; i < deps.config.login.maxFailures; i += 1) await login({ email: address, password: 'wrong password!' }, deps, '198.51.100.7');

        // Act
        const attacker = await login({ email: address, password: PASSWORD }, deps, '198.51.100.7');
        const owner = await login({ email: address, password: PASSWORD }, deps, '192.0.2.44');

        // Assess
        expect(attacker.status).toBe(429);
        expect(owner.status).toBe(200);
      });

      it('counts an IPv6 client per /64, so rotating addresses inside it does not escape the lock', async () => {
        // Prepare
        const address = email();
        await register(address);
        for (let i = 0; i < deps.config.login.maxFailures; i += 1) {
          await login({ email: address, password: 'wrong password!' }, deps, `2001:db8:1:2::${i + 1}`);
        }

        // Act
        const sameNetwork = await login({ email: address, password: PASSWORD }, deps, '2001:db8:1:2:ffff::9');
        const otherNetwork = await login({ email: address, password: PASSWORD }, deps, '2001:db8:1:3::1');

        // Assess
        expect(sameNetwork.status).toBe(429);
        expect(otherNetwork.status).toBe(200);
      });

      it('locks an email everywhere once failures from many addresses reach the per-account ceiling', async () => {
        // Prepare
        const address = email();
        await register(address);
        const strict: ApiDeps = { ...deps, config: { ...deps.config, login: { ...deps.config.login, maxFailuresPerAccount: 8 } } };
        for (const ip of ['198.51.100.1', '198.51.100.2']) {
          for (let i = 0; i < 4; i += 1) await login({ email: address, password: 'wrong password!' }, strict, ip);
        }

        // Act
        const elsewhere = await login({ email: address, password: PASSWORD }, strict, '192.0.2.99');

        // Assess
        expect(elsewhere.status).toBe(429);
      });

      it('audits failed and throttled logins with the targeted account, and stores no email in the throttle', async () => {
        // Prepare
        const address = email();
        const registered = await register(address);
        const userId = (registered.body.user as { id: string }).id;
        for (let i = 0; i < deps.config.login.maxFailures; i += 1) await login({ email: address, password: 'wrong password!' }, deps, '198.51.100.8');

        // Act
        await login({ email: address, password: PASSWORD }, deps, '198.51.100.8');
        const { rows: events } = await harness.owner.query<{ action: string }>(
          'SELECT action FROM audit_events WHERE subject_user_id = $1 ORDER BY id',
          [userId],
        );
        const { rows: throttles } = await harness.owner.query<{ row: string }>('SELECT t::text AS row FROM login_throttles t');

        // Assess
        expect(events.map((e) => e.action)).toEqual([...Array<string>(deps.config.login.maxFailures).fill('auth.login_failed'), 'auth.login_throttled']);
        expect(throttles.length).toBeGreaterThan(0);
        expect(throttles.some((t) => t.row.toLowerCase().includes('example.com'))).toBe(false);
      });

      it('returns a Bearer access token of 15 minutes and an opaque refresh token', async () => {
        // Prepare
        const address = email();
        await register(address);

        // Act
        const reply = await login({ email: address, password: PASSWORD });

        // Assess
        expect(reply.body).toEqual({ accessToken: expect.stringMatching(/^ey/), refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), tokenType: 'Bearer', expiresIn: 900 });
        expect(principalOf(String(reply.body.accessToken))).toMatchObject({ role: 'user', mfa: false });
      });

      it('re-hashes a password stored with older parameters', async () => {
        // Prepare
        const address = email();
        const stronger = scryptHasher({ N: 2 ** 11, r: 8, p: 1 });
        await register(address);

        // Act
        await login({ email: address, password: PASSWORD }, { ...deps, passwords: stronger });
        const { rows } = await deps.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', [address]);

        // Assess
        expect(rows[0]!.password_hash).toMatch(/^scrypt\$2048\$8\$1\$/);
      });

      it('refuses a TOTP code used a second time', async () => {
        // Prepare
        await adminSession();
        harness.clock.advance(30_000);
        const code = totpCode(adminTotp, deps.clock.now());

        // Act
        const first = await login({ email: 'root@example.com', password: PASSWORD, totp: code });
        const replayed = await login({ email: 'root@example.com', password: PASSWORD, totp: code });

        // Assess
        expect(first.status).toBe(200);
        expect(replayed.status).toBe(401);
      });
    });

    describe('sessions', () => {
      it('rotates the refresh token on every use', async () => {
        // Prepare
        const session = await userSession();

        // Act
        const rotated = await run(refreshCore, deps, { body: { refreshToken: session.refreshToken } });
        const me = await run(meCore, deps, { principal: principalOf(String(rotated.body.accessToken)), method: 'GET' });

        // Assess
        expect(rotated.status).toBe(200);
        expect(rotated.body.refreshToken).not.toBe(session.refreshToken);
        expect(me.body).toMatchObject({ user: { email: session.email } });
      });

      it('keeps the expiry fixed at login however often and however late the session is refreshed', async () => {
        // Prepare
        const session = await userSession();
        const familyId = principalOf(session.accessToken).sessionId;
        const expiries = async () =>
          (await harness.owner.query<{ expires_at: Date }>('SELECT expires_at FROM sessions WHERE family_id = $1 ORDER BY created_at, id', [familyId])).rows.map((r) =>
            r.expires_at.getTime(),
          );
        const [atLogin] = await expiries();

        // Act
        let token = session.refreshToken;
        for (let day = 0; day < 3; day += 1) {
          harness.clock.advance(10 * 24 * 3600 * 1000);
          const rotated = await run(refreshCore, deps, { body: { refreshToken: token } });
          token = String(rotated.body.refreshToken);
        }

        // Assess
        expect(await expiries()).toEqual([atLogin, atLogin, atLogin, atLogin]);
      });

      it('revokes the whole family when a rotated refresh token is presented again', async () => {
        // Prepare
        const session = await userSession();
        const rotated = await run(refreshCore, deps, { body: { refreshToken: session.refreshToken } });

        // Act
        const reused = await run(refreshCore, deps, { body: { refreshToken: session.refreshToken } });
        const successor = await run(refreshCore, deps, { body: { refreshToken: String(rotated.body.refreshToken) } });
        const me = await run(meCore, deps, { principal: principalOf(String(rotated.body.accessToken)), method: 'GET' });

        // Assess
        expect(reused.status).toBe(401);
        expect(reused.body).toMatchObject({ code: 'invalid_refresh_token' });
        expect(successor.status).toBe(401);
        expect(me.status).toBe(401);
      });

      it('ends the session at logout: its access and refresh tokens stop working', async () => {
        // Prepare
        const session = await userSession();
        const principal = principalOf(session.accessToken);

        // Act
        const logout = await run(logoutCore, deps, { principal });
        const me = await run(meCore, deps, { principal, method: 'GET' });
        const refresh = await run(refreshCore, deps, { body: { refreshToken: session.refreshToken } });

        // Assess
        expect(logout.status).toBe(204);
        expect(me.status).toBe(401);
        expect(refresh.status).toBe(401);
      });

      it("refuses a disabled user's still-valid access token and refresh token", async () => {
        // Prepare
        const admin = await adminSession();
        const session = await userSession();
        const principal = principalOf(session.accessToken);

        // Act
        const disabled = await run(disableUserCore, deps, { principal: principalOf(admin.accessToken), pathParameters: { id: principal.userId } });
        const me = await run(meCore, deps, { principal, method: 'GET' });
        const refresh = await run(refreshCore, deps, { body: { refreshToken: session.refreshToken } });
        const relogin = await login({ email: session.email, password: PASSWORD });

        // Assess
        expect(disabled.body).toMatchObject({ user: { id: principal.userId, status: 'disabled' } });
        expect(me.status).toBe(401);
        expect(refresh.status).toBe(401);
        expect(relogin.status).toBe(403);
        expect(relogin.body).toMatchObject({ code: 'account_disabled' });
      });

      it("forgets a disabled user's WebSocket connections, so nothing more is pushed to them, and no one else's", async () => {
        // Prepare
        const admin = await adminSession();
        const target = principalOf((await userSession()).accessToken);
        const bystander = principalOf((await userSession()).accessToken);
        const expiresAt = new Date(deps.clock.now().getTime() + 3600_000);
        await deps.connections.put({ connectionId: 'target-1', userId: target.userId, expiresAt });
        await deps.connections.put({ connectionId: 'target-2', userId: target.userId, expiresAt });
        await deps.connections.put({ connectionId: 'bystander-1', userId: bystander.userId, expiresAt });

        // Act
        const disabled = await run(disableUserCore, deps, { principal: principalOf(admin.accessToken), pathParameters: { id: target.userId } });

        // Assess
        expect(disabled.status).toBe(200);
        expect(await deps.connections.listByUser(target.userId)).toEqual([]);
        expect(await deps.connections.listByUser(bystander.userId)).toEqual(['bystander-1']);
      });
    });

    describe('admin routes', () => {
      it('refuse an admin token without the TOTP factor with 403 mfa_required', async () => {
        // Prepare
        const admin = await adminSession();

        // Act
        const reply = await run(listUsersCore, deps, { principal: principalOf(admin.withoutMfa), method: 'GET' });

        // Assess
        expect(reply.status).toBe(403);
        expect(reply.body).toMatchObject({ code: 'mfa_required' });
      });

      it('refuse an admin whose TOTP login is over 12 hours old with 403 mfa_required, refreshed or not', async () => {
        // Prepare: the family's login row is what dates the second factor.
        const admin = await adminSession();
        const principal = principalOf(admin.accessToken);
        const { rows } = await harness.owner.query<{ token_hash: string }>('SELECT token_hash FROM sessions WHERE family_id = $1', [principal.sessionId]);
        expect(rows).toHaveLength(1);
        const young = await run(listUsersCore, deps, { principal, method: 'GET' });
        await harness.owner.query("UPDATE sessions SET created_at = now() - interval '12 hours 1 minute' WHERE family_id = $1", [principal.sessionId]);

        // Act
        const old = await run(listUsersCore, deps, { principal, method: 'GET' });

        // Assess
        expect(young.status).toBe(200);
        expect(old.status).toBe(403);
        expect(old.body).toMatchObject({ code: 'mfa_required' });
      });

      it('issue refreshed admin tokens without mfa once the TOTP login is over 12 hours old', async () => {
        // Prepare
        const admin = await adminSession();
        const principal = principalOf(admin.accessToken);
        const refreshToken = String(admin.refreshToken);
        await harness.owner.query("UPDATE sessions SET created_at = now() - interval '13 hours' WHERE family_id = $1", [principal.sessionId]);

        // Act
        const refreshed = await run(refreshCore, deps, { body: { refreshToken } });
        const reply = await run(listUsersCore, deps, { principal: principalOf(String(refreshed.body.accessToken)), method: 'GET' });

        // Assess
        expect(refreshed.status).toBe(200);
        expect(principalOf(String(refreshed.body.accessToken)).mfa).toBe(false);
        expect(reply.body).toMatchObject({ code: 'mfa_required' });
      });

      it('refuse a user with 403 forbidden, whatever the token claims about the role', async () => {
        // Prepare
        const session = await userSession();
        const forged = { ...principalOf(session.accessToken), role: 'admin' as const, mfa: true };

        // Act
        const reply = await run(listUsersCore, deps, { principal: forged, method: 'GET' });

        // Assess
        expect(reply.status).toBe(403);
        expect(reply.body).toMatchObject({ code: 'forbidden' });
      });

      it('list users page by page with a cursor', async () => {
        // Prepare
        const admin = await adminSession();
        await userSession();
        await userSession();
        const principal = principalOf(admin.accessToken);

        // Act
        const first = await run(listUsersCore, deps, { principal, method: 'GET', query: { limit: '1' } });
        const second = await run(listUsersCore, deps, { principal, method: 'GET', query: { limit: '1', cursor: String(first.body.nextCursor) } });

        // Assess
        const [a] = first.body.items as Array<{ id: string }>;
        const [b] = second.body.items as Array<{ id: string }>;
        expect(first.body.nextCursor).toEqual(expect.any(String));
        expect(a!.id).not.toBe(b!.id);
      });

      it('refuse a user listing limit outside 1 to 100 with 400 before it reaches the database', async () => {
        // Prepare
        const principal = principalOf((await adminSession()).accessToken);
        const limits = ['0', '-1', '101', '2.5', 'NaN'];

        // Act
        const replies = await Promise.all(limits.map((limit) => run(listUsersCore, deps, { principal, method: 'GET', query: { limit } })));

        // Assess
        for (const reply of replies) expect(reply.status).toBe(400);
      });

      it('answer a malformed or unknown user id with 404', async () => {
        // Prepare
        const principal = principalOf((await adminSession()).accessToken);

        // Act
        const malformed = await run(disableUserCore, deps, { principal, pathParameters: { id: 'nope' } });
        const unknown = await run(disableUserCore, deps, { principal, pathParameters: { id: '00000000-0000-4000-8000-000000000000' } });

        // Assess
        expect([malformed.status, unknown.status]).toEqual([404, 404]);
        expect(malformed.body.detail).toBe(unknown.body.detail);
      });
    });
  });
}
