import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Router } from './router';

/** Long enough for a 500 MB upload over a slow local link; Node's default (5 min) is not. */
const REQUEST_TIMEOUT_MS = 15 * 60 * 1000;
const SHUTDOWN_GRACE_MS = 5000;
/**
 * Idle keep-alive connections outlive every client's own idle limit (fetch/undici keeps one ~4 s):
 * with Node's default of 5 s a busy machine could close a connection just as a client reused it,
 * and that request failed with "other side closed". The headers timeout still bounds a slow client.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export function createHttpServer(router: Router): Server {
  const server = createServer(router.handle);
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  return server;
}

export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Stops accepting connections, lets requests in progress finish for a moment, then cuts what is
 * left (a client holding a keep-alive connection open must not keep the process alive).
 */
export function closeServer(server: Server, graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close((error) => {
      clearTimeout(force);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}
