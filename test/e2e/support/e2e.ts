/**
 * Shared by the end-to-end suites: the service in this process on a free port with its pipeline
 * (intake, sweeper, Tesseract worker) in a throwaway data folder, accounts and tasks over real
 * HTTP, WebSocket clients, the `untxt` CLI as a child process, and waits on conditions (never
 * fixed sleeps).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { loadConfig } from '../../../local/config';
import { createLogger } from '../../../local/logger';
import { startLocalService, type LocalService, type LocalServiceOptions } from '../../../local/service';
import type { TaskView } from '../../../cli/follow';
import type { Database } from '../../../src/db/database';
import { ensurePgliteTemplate } from '../../support/pglite-template';

export const REPO_ROOT = resolve(__dirname, '../../..');

/** A fresh data folder, seeded with the migrated PGlite template (saves initdb's seconds). */
export async function freshDataDir(prefix: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `untxt-${prefix}-`));
  const template = process.env.UNTXT_TEST_PGLITE_TEMPLATE ?? (await ensurePgliteTemplate()).dir;
  cpSync(template, join(dir, 'pgdata'), { recursive: true });
  return dir;
}

export interface E2eService {
  service: LocalService;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startE2eService(
  prefix: string,
  pipeline: LocalServiceOptions['pipeline'] = true,
  env: Record<string, string> = {},
): Promise<E2eService> {
  const dataDir = await freshDataDir(prefix);
  const service = await startLocalService(loadConfig({ PORT: '0', UNTXT_DATA_DIR: dataDir, ...env }), {
    logger: createLogger('SILENT'),
    pipeline,
  });
  return {
    service,
    dataDir,
    stop: async () => {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface User {
  email: string;
  password: string;
  token: string;
}

export async function register(base: string, name: string): Promise<User> {
  const email = `${name}@example.com`;
  const password = `${name} correct horse battery staple`;
  const registered = await postJson(`${base}/v1/auth/register`, { email, password });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}: ${await registered.text()}`);
  const login = await postJson(`${base}/v1/auth/login`, { email, password });
  if (login.status !== 200) throw new Error(`login answered ${login.status}`);
  const { accessToken } = (await login.json()) as { accessToken: string };
  return { email, password, token: accessToken };
}

export function postJson(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

export function getAuthorized(url: string, token: string): Promise<Response> {
  return fetch(url, { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' });
}

export interface CreatedTask {
  task: { id: string; status: string };
  upload: { url: string; method: string; headers: Record<string, string> };
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** POST /v1/tasks for these bytes (the declaration can be overridden to lie). */
export async function createTask(
  base: string,
  user: User,
  bytes: Uint8Array,
  declared: { filename: string; contentType: string; size?: number; sha256?: string },
): Promise<Response> {
  return postJson(
    `${base}/v1/tasks`,
    { filename: declared.filename, contentType: declared.contentType, size: declared.size ?? bytes.byteLength, sha256: declared.sha256 ?? sha256(bytes) },
    user.token,
  );
}

/** Creates a task and PUTs the bytes through its presigned URL; fails the test on any refusal. */
export async function submit(base: string, user: User, bytes: Uint8Array, filename: string, contentType: string): Promise<string> {
  const created = await createTask(base, user, bytes, { filename, contentType });
  if (created.status !== 201) throw new Error(`create answered ${created.status}: ${await created.text()}`);
  const { task, upload } = (await created.json()) as CreatedTask;
  const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: bytes });
  if (put.status !== 200) throw new Error(`upload answered ${put.status}: ${await put.text()}`);
  return task.id;
}

/** What GET /v1/tasks/{id} answers in `task` (the fields these tests read): the CLI's view. */
export type TaskBody = TaskView;

export async function getTask(base: string, user: User, id: string): Promise<TaskBody> {
  const response = await getAuthorized(`${base}/v1/tasks/${id}`, user.token);
  if (response.status !== 200) throw new Error(`GET task answered ${response.status}`);
  return ((await response.json()) as { task: TaskBody }).task;
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs` saying what it waited for. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 240_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const TERMINAL = ['completed', 'failed'];

export function settled(base: string, user: User, id: string): Promise<TaskBody> {
  return waitFor(`task ${id} to finish`, async () => {
    const task = await getTask(base, user, id);
    return TERMINAL.includes(task.status) ? task : undefined;
  });
}

/** Exactly-once checks straight from the database: result rows and history per task. */
export async function resultRows(db: Database, ids: string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ id: string; n: number }>(
    `SELECT t.id, count(r.task_id)::int AS n FROM tasks t LEFT JOIN results r ON r.task_id = t.id WHERE t.id = ANY($1::uuid[]) GROUP BY t.id`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}

export async function historyOf(db: Database, id: string): Promise<string[]> {
  const { rows } = await db.query<{ to_status: string }>('SELECT to_status FROM task_history WHERE task_id = $1 ORDER BY id', [id]);
  return rows.map((r) => r.to_status);
}

/** A WebSocket client keeping every message, with a wait for one that matches. */
export interface WsClient {
  socket: WebSocket;
  messages: unknown[];
  next(match: (m: unknown) => boolean, timeoutMs?: number): Promise<unknown>;
  close(): void;
}

export async function openWs(base: string, user: User): Promise<WsClient> {
  const ticket = await postJson(`${base}/v1/ws-ticket`, {}, user.token);
  if (ticket.status !== 200) throw new Error(`ws-ticket answered ${ticket.status}`);
  const { url } = (await ticket.json()) as { url: string };
  const socket = new WebSocket(url);
  const messages: unknown[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise<void>((resolveOpen, reject) => {
    socket.once('open', () => resolveOpen());
    socket.once('error', reject);
  });
  return {
    socket,
    messages,
    next: (match, timeoutMs = 240_000) => waitFor('a WebSocket message', async () => messages.find(match), timeoutMs, 50),
    close: () => socket.close(),
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real `untxt` command as a child process (the package's bin launcher). */
export function runCli(args: string[], env: Record<string, string>, stdin?: string): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'cli/untxt.js'), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: env.HOME ?? process.env.HOME ?? '/tmp', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}
