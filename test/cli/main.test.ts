import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CredentialStore, credentialsPath } from '../../cli/credentials';
import { EXIT } from '../../cli/exit-codes';
import { main } from '../../cli/main';

/** Runs one invocation in-process against a stand-in fetch; returns exit code and output. */
async function run(argv: string[], env: Record<string, string>, fetchImpl: typeof fetch = unreachable) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (c: Buffer) => out.push(c.toString()));
  stderr.on('data', (c: Buffer) => err.push(c.toString()));
  const stdin = new PassThrough();
  stdin.end();
  const code = await main({ argv, env, stdin, stdout, stderr, fetch: fetchImpl });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const unreachable = (async () => {
  throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
}) as typeof fetch;
const problem = (status: number, code: string, detail: string) =>
  (async () => new Response(JSON.stringify({ status, code, detail }), { status, headers: { 'content-type': 'application/problem+json' } })) as typeof fetch;

describe('untxt exit codes and error output', () => {
  let home: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    home = mkdtempSync(join(tmpdir(), 'untxt-main-'));
    env = { XDG_CONFIG_HOME: home, UNTXT_ENDPOINT: 'http://untxt.test' };
    await new CredentialStore(credentialsPath(env)).set('http://untxt.test', {
      accessToken: 'a',
      refreshToken: 'r',
      accessExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('prints help with the exit codes and exits 0', async () => {
    // Act
    const result = await run(['--help'], env);

    // Assess
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('untxt ocr <files...>');
    expect(result.stdout).toContain('130  interrupted');
  });

  it.each([[['help', 'result']], [['result', '--help']]])('prints only the usage of the command asked about (%j)', async (argv) => {
    // Act
    const result = await run(argv, env);

    // Assess
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/^Usage:\n {2}untxt result <id> \[--format html\|text\|json\] \[--out PATH\]\n {10,}print a result/);
    expect(result.stdout).toContain('--endpoint URL');
    expect(result.stdout).toContain('130  interrupted');
    expect(result.stdout).not.toContain('untxt ocr');
  });

  it('prints the whole help for a command it does not know', async () => {
    // Act
    const result = await run(['help', 'frobnicate'], env);

    // Assess
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('untxt ocr <files...>');
    expect(result.stdout).toContain('untxt logout');
  });

  it('exits 1 on a usage error, naming it on stderr', async () => {
    // Act
    const result = await run(['tasks', '--limit', 'many'], env);

    // Assess
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toBe('untxt: --limit must be a whole number from 1 to 100 (see untxt --help)\n');
  });

  it('exits 2 when not logged in at the endpoint', async () => {
    // Act
    const result = await run(['tasks', '--endpoint', 'http://other.test'], env);

    // Assess
    expect(result.code).toBe(EXIT.auth);
    expect(result.stderr).toContain('not logged in at http://other.test');
  });

  it('exits 3 for a task that does not exist, printing the problem code and detail', async () => {
    // Act
    const result = await run(['delete', '00000000-0000-4000-8000-000000000000'], env, problem(404, 'not_found', 'No such resource.'));

    // Assess
    expect(result.code).toBe(EXIT.notFound);
    expect(result.stderr).toBe('untxt: not_found: No such resource.\n');
  });

  it('exits 5 when the service cannot be reached, and reports the error as JSON on stderr under --json', async () => {
    // Act
    const result = await run(['tasks', '--json'], env);

    // Assess
    expect(result.code).toBe(EXIT.unavailable);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr)).toEqual({ error: { code: 'network', message: 'cannot reach http://untxt.test: ECONNREFUSED', exitCode: 5 } });
  });

  it('exits 6 when the service refuses the request as asked', async () => {
    // Act
    const result = await run(['result', 'abc'], env, problem(409, 'not_ready', 'The task is processing.'));

    // Assess
    expect(result.code).toBe(EXIT.refused);
    expect(result.stderr).toBe('untxt: not_ready: The task is processing.\n');
  });

  it('refuses login without a terminal or --password-stdin instead of hanging', async () => {
    // Act
    const result = await run(['login', '--email', 'a@example.com'], env);

    // Assess
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('--password-stdin');
  });
});
