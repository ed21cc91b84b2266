/**
 * The local WebSocket endpoint on a bare HTTP server (no database, no pipeline): the handshake's
 * refusals, API Gateway's answers to unknown actions and its idle timeout, and delivery straight
 * from the in-process bus.
 */
import { createServer, type Server } from 'node:http';
import { connect as tcpConnect, type AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createLogger } from '../../local/logger';
import { attachLocalWebSocket, type LocalWebSocket } from '../../local/websocket';
import { systemClock } from '../../src/adapters/clock';
import { InProcessEventBus } from '../../src/adapters/local/in-process-event-bus';
import { InMemoryTicketStore } from '../../src/realtime/tickets/memory-ticket-store';
import { taskDetail, until, USER_A, USER_B } from './support/realtime';

describe('the local WebSocket endpoint on its own', () => {
  let server: Server;
  let websocket: LocalWebSocket;
  let tickets: InMemoryTicketStore;
  let bus: InProcessEventBus;
  let base: string;

  beforeEach(async () => {
    server = createServer((_req, res) => res.writeHead(404).end());
    tickets = new InMemoryTicketStore(systemClock);
    bus = new InProcessEventBus();
    websocket = attachLocalWebSocket({ server, tickets, events: bus, clock: systemClock, logger: createLogger('SILENT'), idleTimeoutMs: 200 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await websocket.close();
    await bus.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const connect = async (userId: string): Promise<{ socket: WebSocket; frames: string[]; closed: Promise<number> }> => {
    const { ticket } = await tickets.issue(userId);
    const socket = new WebSocket(`${base}/ws?ticket=${ticket}`);
    const frames: string[] = [];
    socket.on('message', (data) => frames.push(data.toString()));
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return { socket, frames, closed };
  };

  const frameCount = (frames: string[], count: number): Promise<void> => until(() => frames.length >= count);

  const handshakeStatus = (url: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => reject(new Error('the connection opened')));
      socket.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      socket.on('error', () => undefined);
    });

  it('refuses a handshake on another path with 404 and one with an unknown ticket with 401', async () => {
    // Prepare
    const { ticket } = await tickets.issue(USER_A);

    // Act
    const elsewhere = await handshakeStatus(`${base}/v1/ws?ticket=${ticket}`);
    const unknown = await handshakeStatus(`${base}/ws?ticket=${'A'.repeat(43)}`);

    // Assess
    expect(elsewhere).toBe(404);
    expect(unknown).toBe(401);
    expect(tickets.size).toBe(1);
    expect(websocket.clientCount).toBe(0);
  });

  /** A raw HTTP request on a fresh TCP connection; resolves with everything the server sent before closing. */
  const rawRequest = (request: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const { port } = server.address() as AddressInfo;
      const socket = tcpConnect(port, '127.0.0.1', () => socket.write(request));
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', reject);
    });

  it('answers an upgrade whose target is not a valid URL with 400 and keeps serving', async () => {
    // Prepare
    const malformed = ['GET http://[/ws HTTP/1.1', 'Host: localhost', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', '', ''].join('\r\n');

    // Act
    const answer = await rawRequest(malformed);
    const client = await connect(USER_A);

    // Assess
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"code":"bad_request"');
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('answers a message that matches no route as API Gateway does, and ping with pong', async () => {
    // Prepare
    const client = await connect(USER_A);

    // Act
    client.socket.send(JSON.stringify({ action: 'subscribe' }));
    client.socket.send('not json');
    client.socket.send(JSON.stringify({ action: 'ping' }));
    await frameCount(client.frames, 3);

    // Assess
    expect(client.frames.map((f) => JSON.parse(f))).toEqual([{ message: 'Forbidden' }, { message: 'Forbidden' }, { type: 'pong' }]);
  });

  it('closes a connection that stays silent past the idle timeout, and forgets it', async () => {
    // Prepare
    const client = await connect(USER_A);

    // Act
    const code = await client.closed;
    await until(() => websocket.clientCount === 0);

    // Assess
    expect(code).toBe(1001);
    expect(await websocket.connections.listByUser(USER_A)).toEqual([]);
  });

  it('delivers a task status from the bus to its owner\'s sockets only', async () => {
    // Prepare
    const [owner, sameOwner, other] = await Promise.all([connect(USER_A), connect(USER_A), connect(USER_B)]);
    const detail = taskDetail({ userId: USER_A });

    // Act
    await bus.publish(detail);
    await bus.idle();
    await Promise.all([frameCount(owner.frames, 1), frameCount(sameOwner.frames, 1)]);

    // Assess
    expect(JSON.parse(owner.frames[0]!)).toMatchObject({ type: 'task.status', taskId: detail.taskId, seq: detail.seq });
    expect(sameOwner.frames).toEqual(owner.frames);
    expect(other.frames).toEqual([]);
  });

  it('passes on only what is newer than the last status it sent for the task, whatever order the bus delivers in', async () => {
    // Prepare
    const client = await connect(USER_A);
    const first = taskDetail({ userId: USER_A, seq: 8, status: 'processing', pagesDone: 1 });
    const { taskId } = first;

    // Act
    await bus.publish(first);
    await bus.publish(taskDetail({ taskId, userId: USER_A, seq: 7, status: 'queued', pagesDone: 0 }));
    await bus.publish(first);
    await bus.publish(taskDetail({ taskId, userId: USER_A, seq: 9, status: 'completed', pagesDone: 10 }));
    await bus.idle();
    await frameCount(client.frames, 2);

    // Assess
    expect(client.frames.map((f) => (JSON.parse(f) as { seq: number }).seq)).toEqual([8, 9]);
  });
});
