import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@aws-lambda-powertools/logger';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { errorSummary } from '../src/adapters/error-summary';
import type { Clock } from '../src/ports/clock';
import type { EventSubscriptions } from '../src/ports/event-bus';
import { MAX_CONNECTION_SECONDS, type ConnectionStore } from '../src/realtime/connection-store';
import type { ConnectionSender } from '../src/realtime/connection-sender';
import { connect, disconnect, pong } from '../src/realtime/connections';
import { InMemoryConnectionStore } from '../src/realtime/memory-connection-store';
import { MAX_FRAME_BYTES, PING_ACTION } from '../src/realtime/messages';
import { InMemoryNotifiedStatusStore } from '../src/realtime/notified-status';
import { notifyTaskStatus } from '../src/realtime/notifier';
import type { TicketStore } from '../src/realtime/tickets/ticket-store';
import { authorizeConnect } from '../src/realtime/ws-authorizer';

/** Where the WebSocket endpoint lives on the local server (the ws-ticket URL names it). */
export const WEBSOCKET_PATH = '/ws';

/** API Gateway closes a connection that has been silent for 10 minutes. */
const IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/** How long shutdown waits for clients to answer the close frame before cutting them off. */
const CLOSE_GRACE_MS = 1000;
/** What API Gateway answers a message that matches no route (there is no `$default` route). */
const NO_ROUTE_FRAME = JSON.stringify({ message: 'Forbidden' });

export interface LocalWebSocketOptions {
  server: Server;
  tickets: TicketStore;
  events: EventSubscriptions;
  clock: Clock;
  logger: Logger;
  /** Where connections are kept; pass the API's store so disable-user reaches these sockets. */
  connections?: ConnectionStore;
  /** Overrides for tests; default to API Gateway's limits. */
  maxConnectionMs?: number;
  idleTimeoutMs?: number;
}

export interface LocalWebSocket {
  connections: ConnectionStore;
  /** Open sockets. */
  readonly clientCount: number;
  /** Refuses new handshakes, sends every client a close frame (1001), and stops notifying. */
  close(): Promise<void>;
}

/**
 * The WebSocket API of local mode, on the main server at `/ws`, with the contract of the AWS
 * one: the single-use ticket is checked and used up during the handshake (refused with 401 before
 * the upgrade, so the connection never opens); task status events from the in-process bus go
 * through the same notifier core, to the owner's sockets only; `{"action":"ping"}` answers
 * `{"type":"pong"}`; connections end after API Gateway's idle timeout and two-hour limit.
 */
export function attachLocalWebSocket(options: LocalWebSocketOptions): LocalWebSocket {
  const { server, tickets, clock, logger } = options;
  const connections = options.connections ?? new InMemoryConnectionStore(clock);
  const sockets = new Map<string, WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  let closing = false;

  const sender: ConnectionSender = {
    send: (connectionId, frame) =>
      new Promise((resolve) => {
        const socket = sockets.get(connectionId);
        if (!socket || socket.readyState !== WebSocket.OPEN) return resolve('gone');
        // A send that fails means the socket closed under it: the same as API Gateway's 410.
        socket.send(frame, (error) => resolve(error ? 'gone' : 'sent'));
      }),
  };
  const notified = new InMemoryNotifiedStatusStore();
  const unsubscribe = options.events.subscribe((detail) => notifyTaskStatus(detail, { connections, sender, logger, notified }).then(() => undefined));

  /**
   * An `upgrade` listener that throws takes the whole process down (Node re-throws it on the
   * server), so nothing may escape it: an unparsable target is a 400, anything else unexpected
   * destroys this one socket.
   */
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    try {
      handleUpgrade(req, socket, head);
    } catch (error) {
      logger.error('WebSocket handshake failed', { error: errorSummary(error) });
      socket.destroy();
    }
  };

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', (error) => logger.debug('WebSocket handshake socket error', { error: errorSummary(error) }));
    const url = parseTarget(req.url);
    if (!url) return refuse(socket, 400, 'bad_request', 'The request target is not a valid URL.');
    if (url.pathname !== WEBSOCKET_PATH) return refuse(socket, 404, 'not_found', 'No WebSocket endpoint here.');
    if (closing) return refuse(socket, 503, 'unavailable', 'The service is shutting down.');
    void authorizeConnect(url.searchParams.get('ticket'), { tickets })
      .then((decision) => {
        if (!decision) return refuse(socket, 401, 'unauthorized', 'The ticket is missing, unknown, expired or already used.');
        if (closing || socket.destroyed) return refuse(socket, 503, 'unavailable', 'The service is shutting down.');
        wss.handleUpgrade(req, socket, head, (ws) => accept(ws, decision.userId));
      })
      .catch((error: unknown) => {
        logger.error('WebSocket handshake failed', { error: errorSummary(error) });
        refuse(socket, 500, 'internal', 'Something went wrong on our side.');
      });
  };

  const accept = (ws: WebSocket, userId: string): void => {
    const connectionId = randomUUID();
    sockets.set(connectionId, ws);
    // Stored before any close can be observed (the in-memory store settles within this tick).
    void connect({ connectionId, userId }, { connections, clock });
    const idleMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    const idle = setTimeout(() => ws.close(1001, 'Idle timeout'), idleMs).unref();
    const lifetime = setTimeout(() => ws.close(1001, 'Connection lifetime reached'), options.maxConnectionMs ?? MAX_CONNECTION_SECONDS * 1000).unref();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      idle.refresh();
      ws.send(isPing(data, isBinary) ? pong() : NO_ROUTE_FRAME);
    });
    ws.on('error', (error) => logger.debug('WebSocket error', { error: errorSummary(error) }));
    ws.on('close', () => {
      clearTimeout(idle);
      clearTimeout(lifetime);
      sockets.delete(connectionId);
      void disconnect(connectionId, { connections });
    });
  };

  server.on('upgrade', onUpgrade);
  let closed: Promise<void> | undefined;
  return {
    connections,
    get clientCount() {
      return sockets.size;
    },
    close: () =>
      (closed ??= (async () => {
        closing = true;
        unsubscribe();
        server.off('upgrade', onUpgrade);
        await Promise.all([...sockets.values()].map((ws) => closeSocket(ws)));
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      })()),
  };
}

/** The request target as a URL, or undefined when it is not one (e.g. `http://[/ws`). */
function parseTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

function isPing(data: RawData, isBinary: boolean): boolean {
  if (isBinary) return false;
  try {
    const message: unknown = JSON.parse(rawText(data));
    return typeof message === 'object' && message !== null && (message as { action?: unknown }).action === PING_ACTION;
  } catch {
    return false;
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** A close frame, then a hard stop for a client that does not answer it. */
function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    ws.once('close', () => {
      clearTimeout(force);
      resolve();
    });
    ws.close(1001, 'Server shutting down');
  });
}

/** An HTTP answer on the raw socket, before any upgrade: the WebSocket connection never opens. */
function refuse(socket: Duplex, status: number, code: string, detail: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, code, detail });
  socket.end(
    [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
      'Connection: close',
      'Content-Type: application/problem+json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Cache-Control: no-store',
      '',
      body,
    ].join('\r\n'),
  );
}
