/**
 * The WebSocket endpoint of `npm start`, end to end: real HTTP and WebSocket clients against the
 * local service with its pipeline (intake, the Tesseract worker). Two users each watch their own
 * task go from queued to completed; tickets are single use; a dropped client reconnects with a new
 * ticket and reads the current state over HTTP; shutdown closes open sockets.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { loadConfig } from '../../local/config';
import { createLogger } from '../../local/logger';
import { startLocalService, type LocalService } from '../../local/service';
import { isNewerStatus, taskStatusMessageSchema, type TaskStatusMessage } from '../../src/realtime/messages';
import { account, authorized, type Account } from '../api/tasks/local-service';
import { scanPage } from '../pipeline/support/documents';
import { until } from './support/realtime';

/** A WebSocket client that keeps every text frame it receives, parsed. */
interface Client {
  socket: WebSocket;
  messages: unknown[];
  /** Resolves with the first message (already received or still to come) that matches. */
  next(match: (message: unknown) => boolean): Promise<unknown>;
  closed: Promise<number>;
}

function open(url: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const messages: unknown[] = [];
    const waiters: Array<{ match: (m: unknown) => boolean; resolve: (m: unknown) => void }> = [];
    const closed = new Promise<number>((done) => socket.once('close', (code) => done(code)));
    socket.on('message', (data) => {
      const message: unknown = JSON.parse(data.toString());
      messages.push(message);
      for (const waiter of waiters.filter((w) => w.match(message))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    });
    socket.once('open', () =>
      resolve({
        socket,
        messages,
        closed,
        next: (match) => {
          const seen = messages.find(match);
          return seen !== undefined ? Promise.resolve(seen) : new Promise((found) => waiters.push({ match, resolve: found }));
        },
      }),
    );
    socket.once('error', reject);
  });
}

/** The status code of a refused handshake, and its body; fails if the connection opens. */
function refused(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      socket.close();
      reject(new Error('the connection opened'));
    });
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.on('error', () => undefined);
  });
}

const statusOf = (taskId: string) => (m: unknown): m is TaskStatusMessage => (m as TaskStatusMessage).type === 'task.status' && (m as TaskStatusMessage).taskId === taskId;

/** What a client following the seq rule applies, in order. */
function applied(messages: unknown[], taskId: string): TaskStatusMessage[] {
  const kept: TaskStatusMessage[] = [];
  for (const message of messages.filter(statusOf(taskId))) {
    if (isNewerStatus(kept[kept.length - 1], message)) kept.push(message);
  }
  return kept;
}

describe('the local WebSocket endpoint', () => {
  let service: LocalService;
  let dataDir: string;
  let alice: Account;
  let bob: Account;
  let aliceTicketUrl: string;
  let aliceClient: Client;
  let bobClient: Client;
  let aliceTaskId: string;
  let bobTaskId: string;

  const ticket = async (user: Account): Promise<{ url: string; expiresAt: string }> => {
    const response = await fetch(`${service.apiUrl}/ws-ticket`, authorized(user.token, { method: 'POST' }));
    expect(response.status).toBe(200);
    return (await response.json()) as { url: string; expiresAt: string };
  };

  /** Creates a task for a one-line scanned page and PUTs the page to the presigned URL. */
  const submit = async (user: Account, line: string): Promise<string> => {
    const page = await scanPage({ lines: [line] }, { width: 900, height: 260 });
    const created = await fetch(
      `${service.apiUrl}/tasks`,
      authorized(user.token, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ filename: 'line.png', contentType: 'image/png', size: page.byteLength, sha256: createHash('sha256').update(page).digest('hex') }),
      }),
    );
    expect(created.status).toBe(201);
    const { task, upload } = (await created.json()) as { task: { id: string }; upload: { url: string; method: string; headers: Record<string, string> } };
    const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: page });
    expect(put.status).toBe(200);
    return task.id;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'untxt-ws-'));
    const template = process.env.UNTXT_TEST_PGLITE_TEMPLATE;
    if (template) cpSync(template, join(dataDir, 'pgdata'), { recursive: true });
    service = await startLocalService(loadConfig({ PORT: '0', UNTXT_DATA_DIR: dataDir }), { logger: createLogger('SILENT'), pipeline: true });
    [alice, bob] = await Promise.all([account(service, 'alice'), account(service, 'bob')]);
  });

  afterAll(async () => {
    await service?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens a connection with a ticket from POST /v1/ws-ticket and answers ping with pong', async () => {
    // Prepare
    const issued = await ticket(alice);
    aliceTicketUrl = issued.url;

    // Act
    aliceClient = await open(issued.url);
    aliceClient.socket.send(JSON.stringify({ action: 'ping' }));
    const answer = await aliceClient.next((m) => (m as { type?: string }).type === 'pong');

    // Assess
    expect(new URL(issued.url).pathname).toBe('/ws');
    expect(answer).toEqual({ type: 'pong' });
  });

  it('refuses a replayed ticket during the handshake with 401, so the connection never opens', async () => {
    // Act
    const replay = await refused(aliceTicketUrl);
    const none = await refused(aliceTicketUrl.replace(/\?.*$/, ''));

    // Assess
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body)).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(none.status).toBe(401);
    expect(service.websocket.clientCount).toBe(1);
  });

  it('sends each user queued → processing → progress → completed for their own task, in order, and nothing of the other\'s', async () => {
    // Prepare
    bobClient = await open((await ticket(bob)).url);

    // Act: both tasks run through the pipeline at the same time.
    [aliceTaskId, bobTaskId] = await Promise.all([submit(alice, 'Alice reads her invoice'), submit(bob, 'Bob reads his letter')]);
    await Promise.all([
      aliceClient.next((m) => statusOf(aliceTaskId)(m) && m.status === 'completed'),
      bobClient.next((m) => statusOf(bobTaskId)(m) && m.status === 'completed'),
    ]);

    // Assess
    for (const message of [...aliceClient.messages, ...bobClient.messages].filter((m) => (m as { type?: string }).type === 'task.status')) {
      expect(taskStatusMessageSchema.parse(message)).toEqual(message);
    }
    const aliceSteps = applied(aliceClient.messages, aliceTaskId);
    expect(aliceSteps.map((m) => [m.status, m.pagesDone, m.pageCount])).toEqual([
      ['queued', 0, 1],
      ['processing', 0, 1],
      ['processing', 1, 1],
      ['completed', 1, 1],
    ]);
    const [queued, processing, progress, completed] = aliceSteps.map((m) => m.seq);
    expect(queued!).toBeLessThan(processing!);
    expect(progress).toBe(processing);
    expect(completed!).toBeGreaterThan(progress!);
    expect(applied(bobClient.messages, bobTaskId).map((m) => m.status)).toEqual(['queued', 'processing', 'processing', 'completed']);
    expect(aliceClient.messages.filter(statusOf(bobTaskId))).toEqual([]);
    expect(bobClient.messages.filter(statusOf(aliceTaskId))).toEqual([]);
    expect(JSON.stringify([...aliceClient.messages, ...bobClient.messages])).not.toMatch(/line\.png|Alice reads|Bob reads/);
  });

  it('lets a dropped client reconnect with a new ticket and read the current state over HTTP', async () => {
    // Prepare
    aliceClient.socket.terminate();
    await aliceClient.closed;
    await until(() => service.websocket.clientCount === 1);

    // Act
    aliceClient = await open((await ticket(alice)).url);
    const current = await fetch(`${service.apiUrl}/tasks/${aliceTaskId}`, authorized(alice.token));

    // Assess
    expect(current.status).toBe(200);
    expect(((await current.json()) as { task: unknown }).task).toMatchObject({ id: aliceTaskId, status: 'completed', pagesDone: 1, pageCount: 1 });
    expect(await service.websocket.connections.listByUser(alice.userId)).toHaveLength(1);
  });

  it('closes open connections with 1001 when the service stops, without waiting on them', async () => {
    // Act
    await service.stop();

    // Assess
    expect(await aliceClient.closed).toBe(1001);
    expect(await bobClient.closed).toBe(1001);
    expect(service.websocket.clientCount).toBe(0);
  });
});
