import type { Clock } from '../ports/clock';
import { connectionExpiry, type ConnectionStore } from './connection-store';
import { encodeFrame, PONG_MESSAGE } from './messages';

/**
 * `$connect`, after the authorizer has used up the ticket and named the user: remember the
 * connection until its TTL, near API Gateway's two-hour limit.
 */
export async function connect(input: { connectionId: string; userId: string }, deps: { connections: ConnectionStore; clock: Clock }): Promise<void> {
  await deps.connections.put({ connectionId: input.connectionId, userId: input.userId, expiresAt: connectionExpiry(deps.clock.now()) });
}

/** `$disconnect`: best effort by API Gateway's own account, so the TTL and 410s catch what it misses. */
export async function disconnect(connectionId: string, deps: { connections: ConnectionStore }): Promise<void> {
  await deps.connections.delete(connectionId);
}

/** The `ping` route's answer, as a text frame. */
export function pong(): string {
  return encodeFrame(PONG_MESSAGE);
}
