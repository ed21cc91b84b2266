import type { Logger } from '@aws-lambda-powertools/logger';
import type { PasswordHasher } from '../auth/password';
import type { SigningKeys } from '../auth/signing-keys';
import type { Database } from '../db/database';
import type { Clock } from '../ports/clock';
import type { EventBus } from '../ports/event-bus';
import type { ObjectStore } from '../ports/object-store';
import type { ConnectionStore } from '../realtime/connection-store';
import type { TicketStore } from '../realtime/tickets/ticket-store';
import type { ApiConfig } from './config';

/**
 * WebSocket tickets (ws-ticket route): single-use, 60-second, stored hashed. DynamoDB in AWS,
 * in memory locally; the WebSocket side uses a ticket up with a conditional delete.
 */
export type { TicketStore } from '../realtime/tickets/ticket-store';

/**
 * Everything an API core may use, built once per Lambda container (lambdas/api/runtime.ts) or
 * once per local service (local/api.ts). `logger` is per request: the adapter hands each call a
 * child logger carrying the request id.
 */
export interface ApiDeps {
  db: Database;
  objectStore: ObjectStore;
  eventBus: EventBus;
  tickets: TicketStore;
  /**
   * Who holds an open WebSocket (DynamoDB in AWS, the local /ws server's store locally). The API
   * cannot close a socket (no route to the WebSocket management endpoint from the VPC), but
   * deleting a user's rows leaves the notifier nothing to push to: disable-user does that.
   */
  connections: ConnectionStore;
  clock: Clock;
  signingKeys: SigningKeys;
  passwords: PasswordHasher;
  config: ApiConfig;
  logger: Logger;
}

/** A part a function was deployed without (e.g. no bucket for the auth handlers): fails on use, loudly. */
export function notConfigured<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      if (property === 'then') return undefined; // not a thenable: may be awaited/returned safely
      throw new Error(`${what} is not configured for this function`);
    },
  });
}
