/**
 * The `untxt` command-line client: `main(io)` runs one invocation and resolves with its exit
 * code (cli/exit-codes.ts), so tests drive it in-process and the launcher (cli/untxt.js) only
 * sets `process.exitCode`.
 */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { helpText, parseInvocation, type Command, type Invocation } from './args';
import { ApiClient, type TokenResponse } from './client';
import { credentialsPath, CredentialStore } from './credentials';
import { CliError, EXIT, EXIT_CODE_HELP, type ExitCode } from './exit-codes';
import { downloadResult, RESULT_EXTENSIONS, runOcr } from './ocr';
import { askLine, askSecret, readStdin, type Terminal } from './prompt';
import type { TaskView } from './follow';

export interface CliIo extends Terminal {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  fetch?: typeof fetch;
}

interface Context {
  io: CliIo;
  invocation: Invocation;
  client: ApiClient;
  /** A line for people (stdout); suppressed under --json. */
  say(line: string): void;
  /** The --json answer (stdout). */
  emit(value: unknown): void;
}

export async function main(io: CliIo): Promise<ExitCode> {
  let json = io.argv.includes('--json');
  try {
    const invocation = parseInvocation(io.argv, io.env);
    json = invocation.json;
    const client = new ApiClient({
      endpoint: invocation.endpoint,
      store: new CredentialStore(credentialsPath(io.env)),
      ...(io.fetch ? { fetch: io.fetch } : {}),
    });
    const ctx: Context = {
      io,
      invocation,
      client,
      say: (line) => {
        if (!json) io.stdout.write(`${line}\n`);
      },
      emit: (value) => {
        if (json) io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      },
    };
    return await run(invocation.command, ctx);
  } catch (error) {
    const failure = asCliError(error);
    if (json) io.stderr.write(`${JSON.stringify({ error: { code: failure.code ?? 'error', message: failure.message, exitCode: failure.exitCode } })}\n`);
    else io.stderr.write(`untxt: ${failure.message}\n`);
    return failure.exitCode;
  }
}

async function run(command: Command, ctx: Context): Promise<ExitCode> {
  switch (command.name) {
    case 'help':
      ctx.io.stdout.write(`${helpText(command.topic)}\n\n${EXIT_CODE_HELP}\n`);
      return EXIT.ok;
    case 'version':
      ctx.io.stdout.write(`${VERSION}\n`);
      return EXIT.ok;
    case 'register':
    case 'login':
      return logIn(command, ctx);
    case 'logout':
      return logOut(ctx);
    case 'tasks':
      return listTasks(command, ctx);
    case 'result':
      return result(command, ctx);
    case 'delete':
      await ctx.client.request('DELETE', `/v1/tasks/${encodeURIComponent(command.id)}`);
      ctx.say(`deleted ${command.id}`);
      ctx.emit({ taskId: command.id, deleted: true });
      return EXIT.ok;
    case 'ocr':
      return ocr(command, ctx);
  }
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = (require('../package.json') as { version: string }).version;

async function logIn(command: Extract<Command, { name: 'login' | 'register' }>, ctx: Context): Promise<ExitCode> {
  const { io, client } = ctx;
  const interactive = io.stdin.isTTY === true;
  const email = command.email ?? (interactive ? await askLine('Email: ', io) : undefined);
  if (!email) throw new CliError('--email is required when stdin is not a terminal', EXIT.usage, 'usage');
  let password: string;
  if (command.passwordStdin) password = await readStdin(io.stdin);
  else if (interactive) password = await askSecret('Password: ', io);
  else throw new CliError('give the password on stdin with --password-stdin, or run on a terminal', EXIT.usage, 'usage');
  if (!password) throw new CliError('the password is empty', EXIT.usage, 'usage');

  let userId: string | undefined;
  if (command.name === 'register') {
    const registered = await client.json<{ user?: { id: string } }>('POST', '/v1/auth/register', { auth: false, body: { email, password } });
    userId = registered.user?.id;
  }
  const tokens = await client.json<TokenResponse>('POST', '/v1/auth/login', { auth: false, body: { email, password } });
  await client.remember(tokens, email);
  ctx.say(`${command.name === 'register' ? 'Registered and logged in' : 'Logged in'} to ${client.endpoint} as ${email}`);
  ctx.emit({ endpoint: client.endpoint, email, ...(userId ? { userId } : {}), loggedIn: true });
  return EXIT.ok;
}

async function logOut(ctx: Context): Promise<ExitCode> {
  const { client } = ctx;
  let wasLoggedIn = true;
  try {
    // 401: the session had already ended; the stored tokens go all the same.
    await client.request('POST', '/v1/auth/logout', { body: {}, accept: [401] });
  } catch (error) {
    if (!(error instanceof CliError && (error.code === 'not_logged_in' || error.code === 'session_ended'))) throw error;
    wasLoggedIn = error.code === 'session_ended';
  }
  await client.forget();
  ctx.say(wasLoggedIn ? `Logged out of ${client.endpoint}` : `Not logged in at ${client.endpoint}`);
  ctx.emit({ endpoint: client.endpoint, loggedOut: true });
  return EXIT.ok;
}

async function listTasks(command: Extract<Command, { name: 'tasks' }>, ctx: Context): Promise<ExitCode> {
  const query = new URLSearchParams();
  if (command.status) query.set('status', command.status);
  if (command.limit) query.set('limit', String(command.limit));
  const suffix = query.size > 0 ? `?${query}` : '';
  const page = await ctx.client.json<{ items: Array<TaskView & { filename: string | null; createdAt: string }>; nextCursor: string | null }>(
    'GET',
    `/v1/tasks${suffix}`,
  );
  ctx.emit(page);
  if (page.items.length === 0) ctx.say('No tasks.');
  for (const t of page.items) {
    const pages = t.pageCount === null ? '-' : `${t.pagesDone}/${t.pageCount}`;
    const error = t.errorCode ? `  ${t.errorCode}` : '';
    ctx.say(`${t.id}  ${t.status.padEnd(15)} ${pages.padStart(9)}  ${t.createdAt}  ${t.filename ?? ''}${error}`);
  }
  return EXIT.ok;
}

async function result(command: Extract<Command, { name: 'result' }>, ctx: Context): Promise<ExitCode> {
  const body = await downloadResult(ctx.client, command.id, command.format);
  if (command.out === undefined) {
    if (ctx.invocation.json && command.format !== 'json') ctx.emit({ taskId: command.id, format: command.format, content: body.toString('utf8') });
    else ctx.io.stdout.write(body);
    return EXIT.ok;
  }
  const isDir = await stat(command.out).then((s) => s.isDirectory(), () => false);
  const output = isDir ? join(command.out, `${command.id}.${RESULT_EXTENSIONS[command.format]}`) : command.out;
  await writeFile(output, body);
  ctx.say(output);
  ctx.emit({ taskId: command.id, format: command.format, output });
  return EXIT.ok;
}

async function ocr(command: Extract<Command, { name: 'ocr' }>, ctx: Context): Promise<ExitCode> {
  const { io, invocation } = ctx;
  const outcomes = await runOcr(command.files, command.format, command.out, {
    client: ctx.client,
    progress: invocation.json ? 'silent' : io.stderr.isTTY ? 'tty' : 'lines',
    progressOut: io.stderr,
  });
  ctx.emit({ files: outcomes.map(({ exitCode: _exit, ...rest }) => rest) });
  for (const o of outcomes) {
    if (o.output) ctx.say(`${o.file} → ${o.output}`);
    else ctx.say(`${o.file}: ${o.status}${o.errorCode ? ` ${o.errorCode}` : ''}${o.errorMessage ? `: ${o.errorMessage}` : ''}`);
  }
  // A refused or unreachable file says more than a failed task; otherwise failed tasks give 4.
  const codes = outcomes.map((o) => o.exitCode).filter((c) => c !== EXIT.ok);
  return codes.find((c) => c !== EXIT.taskFailed) ?? codes[0] ?? EXIT.ok;
}

function asCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // Local files: a path that cannot be read or written is the caller's to fix.
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'EPERM') {
    return new CliError(error instanceof Error ? error.message : String(error), EXIT.usage, code.toLowerCase());
  }
  return new CliError(`unexpected error: ${error instanceof Error ? error.message : String(error)}`, EXIT.unavailable, 'unexpected');
}
