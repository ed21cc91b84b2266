import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiClient } from '../../cli/client';
import { CredentialStore } from '../../cli/credentials';
import { TaskFollower, type TaskView } from '../../cli/follow';

const TASK_ID = '6f1c2a9e-8f43-4a57-9d0b-3a2f4c1d5e6f';
const at = new Date(Date.UTC(2030, 0, 1)).toISOString();
const status = (seq: number, s: string, pagesDone: number) => JSON.stringify({ type: 'task.status', seq, taskId: TASK_ID, status: s, pagesDone, pageCount: 2, at });
const view = (s: string, pagesDone = 0): TaskView => ({ id: TASK_ID, status: s, pagesDone, pageCount: 2, errorCode: null, errorMessage: null });

describe('following tasks', () => {
  let home: string;
  let wss: WebSocketServer;
  let wsUrl: string;
  const sockets: WebSocket[] = [];

  beforeEach(async () => {
    home = mkdtempSync(join(tmpdir(), 'untxt-follow-'));
    sockets.length = 0;
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
    wsUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`;
    wss.on('connection', (socket) => sockets.push(socket));
  });
  afterEach(async () => {
    await new Promise((resolve) => wss.close(resolve));
    rmSync(home, { recursive: true, force: true });
  });

  /** A stand-in API: tickets for the socket above, and the task as `current()` says. */
  async function client(current: () => TaskView, counts: { tickets: number; polls: number }): Promise<ApiClient> {
    const store = new CredentialStore(join(home, 'credentials.json'));
    await store.set('http://untxt.test', { accessToken: 'a', refreshToken: 'r', accessExpiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    const fetchImpl = (async (input: string | URL) => {
      const path = new URL(String(input)).pathname;
      if (path === '/v1/ws-ticket') {
        counts.tickets += 1;
        return Response.json({ url: `${wsUrl}?ticket=t${counts.tickets}`, expiresAt: at });
      }
      counts.polls += 1;
      return Response.json({ task: current() });
    }) as typeof fetch;
    return new ApiClient({ endpoint: 'http://untxt.test', store, fetch: fetchImpl });
  }

  const connection = (n: number): Promise<WebSocket> =>
    new Promise((resolve) => {
      const check = (): void => (sockets.length >= n ? resolve(sockets[n - 1]!) : void setTimeout(check, 10));
      check();
    });

  it('applies status messages by the seq rule, dropping stale ones', async () => {
    // Prepare
    const counts = { tickets: 0, polls: 0 };
    const updates: TaskView[] = [];
    const follower = new TaskFollower(await client(() => view('queued'), counts), { onUpdate: (v) => updates.push(v), safetyPollMs: 60_000 });
    await follower.start();
    const done = follower.follow(view('awaiting_upload'));
    const socket = await connection(1);

    // Act
    socket.send(status(2, 'queued', 0));
    socket.send(status(3, 'processing', 1));
    socket.send(status(2, 'queued', 0)); // stale: lower seq
    socket.send(status(3, 'processing', 0)); // same seq, fewer pages: a duplicate
    socket.send(status(4, 'completed', 2));
    const final = await done;
    follower.close();

    // Assess
    expect(final).toMatchObject({ status: 'completed', pagesDone: 2 });
    expect(updates.map((u) => `${u.status}:${u.pagesDone}`)).toEqual(['awaiting_upload:0', 'queued:0', 'processing:1', 'completed:2']);
  });

  it('reconnects with a new ticket when the socket drops, and polls the task over HTTP meanwhile', async () => {
    // Prepare
    const counts = { tickets: 0, polls: 0 };
    let current = view('processing', 1);
    const follower = new TaskFollower(await client(() => current, counts), { pollMs: 20, safetyPollMs: 60_000, maxBackoffMs: 50 });
    await follower.start();
    const done = follower.follow(view('queued'));
    const first = await connection(1);
    const pollsBeforeDrop = counts.polls;

    // Act
    first.terminate();
    const second = await connection(2);
    current = view('completed', 2);
    second.send(status(9, 'completed', 2));
    const final = await done;
    follower.close();

    // Assess
    expect(counts.tickets).toBe(2);
    expect(counts.polls).toBeGreaterThan(pollsBeforeDrop);
    expect(final.status).toBe('completed');
  });

  it('follows a task by polling alone where the service offers no WebSocket', async () => {
    // Prepare
    const counts = { tickets: 0, polls: 0 };
    let reads = 0;
    const follower = new TaskFollower(
      await client(() => (++reads >= 3 ? view('failed') : view('processing', 1)), counts),
      { pollMs: 10, webSocket: false },
    );

    // Act
    await follower.start();
    const final = await follower.follow(view('queued'));
    follower.close();

    // Assess
    expect(final.status).toBe('failed');
    expect(counts.tickets).toBe(0);
    expect(counts.polls).toBeGreaterThanOrEqual(3);
  });
});
