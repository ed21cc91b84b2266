import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentialsPath, CredentialStore, type StoredSession } from '../../cli/credentials';
import { CliError, EXIT } from '../../cli/exit-codes';

const session = (n: number): StoredSession => ({
  accessToken: `access-${n}`,
  refreshToken: `refresh-${n}`,
  accessExpiresAt: new Date(Date.UTC(2030, 0, 1)).toISOString(),
  email: 'ada@example.com',
});

describe('the credential store', () => {
  let home: string;
  let path: string;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'untxt-cred-'));
    path = credentialsPath({ XDG_CONFIG_HOME: home });
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('lives under XDG_CONFIG_HOME, or ~/.config when that is unset or relative', () => {
    // Assess
    expect(path).toBe(join(home, 'untxt', 'credentials.json'));
    expect(credentialsPath({})).toMatch(/\.config\/untxt\/credentials\.json$/);
    expect(credentialsPath({ XDG_CONFIG_HOME: 'relative' })).toMatch(/\.config\/untxt\/credentials\.json$/);
  });

  it('writes the file 0600 in a folder 0700, tightening a folder that was created looser', async () => {
    // Prepare
    mkdirSync(join(home, 'untxt'), { mode: 0o755 });
    chmodSync(join(home, 'untxt'), 0o755);
    const store = new CredentialStore(path);

    // Act
    await store.set('http://a', session(1));

    // Assess
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'untxt')).mode & 0o777).toBe(0o700);
  });

  it('keeps tokens per endpoint and forgets one without touching the other', async () => {
    // Prepare
    const store = new CredentialStore(path);
    await store.set('http://a', session(1));
    await store.set('http://b', session(2));

    // Act
    const deleted = await store.delete('http://a');

    // Assess
    expect(deleted).toBe(true);
    expect(await store.get('http://a')).toBeUndefined();
    expect(await store.get('http://b')).toEqual(session(2));
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 1, endpoints: { 'http://b': session(2) } });
  });

  it('replaces the file by renaming a complete new one, leaving no temporary files behind', async () => {
    // Prepare
    const store = new CredentialStore(path);

    // Act
    await Promise.all([1, 2, 3].map((n) => store.withLock(() => store.set('http://a', session(n)))));

    // Assess
    expect(readdirSync(join(home, 'untxt'))).toEqual(['credentials.json']);
    expect((await store.get('http://a'))?.refreshToken).toMatch(/^refresh-[123]$/);
  });

  it('runs locked work one at a time', async () => {
    // Prepare
    const store = new CredentialStore(path);
    let inside = 0;
    let most = 0;
    const work = () =>
      store.withLock(async () => {
        inside += 1;
        most = Math.max(most, inside);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inside -= 1;
      });

    // Act
    await Promise.all([work(), work(), work()]);

    // Assess
    expect(most).toBe(1);
  });

  it('refuses a damaged file with the authentication exit code and a way out', async () => {
    // Prepare
    mkdirSync(join(home, 'untxt'), { recursive: true });
    writeFileSync(path, '{"version": 1, "endpoints": ');
    const store = new CredentialStore(path);

    // Act
    const error = await store.get('http://a').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT.auth);
    expect((error as CliError).message).toContain('delete it and log in again');
  });
});
