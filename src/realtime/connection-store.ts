/**
 * WebSocket connections (DESIGN "Events and notifications"): who is connected, so the notifier
 * can find a user's open connections. An item lives from `$connect` to `$disconnect`, and
 * expires on its own (TTL) shortly after API Gateway's two-hour connection limit, in case a
 * `$disconnect` is never delivered.
 */
export interface Connection {
  /** API Gateway's connection id (locally a UUID). */
  connectionId: string;
  userId: string;
  /** When the store may forget it. */
  expiresAt: Date;
}

export interface ConnectionStore {
  put(connection: Connection): Promise<void>;
  /** Idempotent: deleting a connection that is not (or no longer) stored is fine. */
  delete(connectionId: string): Promise<void>;
  /** The ids of a user's connections; may include some that have just gone (posting tells). */
  listByUser(userId: string): Promise<string[]>;
}

/** API Gateway closes every WebSocket connection after two hours. */
export const MAX_CONNECTION_SECONDS = 2 * 60 * 60;
/**
 * The item outlives the connection a little: expiring it before API Gateway closes the
 * connection would silence a live client, while an item left over a few minutes only costs a
 * post answered 410, which deletes it.
 */
export const CONNECTION_TTL_SECONDS = MAX_CONNECTION_SECONDS + 5 * 60;

export function connectionExpiry(now: Date): Date {
  return new Date(now.getTime() + CONNECTION_TTL_SECONDS * 1000);
}
