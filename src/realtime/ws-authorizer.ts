import type { TicketStore } from './tickets/ticket-store';

/**
 * The `$connect` authorizer's decision: the ticket from the handshake's query string, used up
 * (single use, 60 seconds). Null for a missing, malformed, unknown, expired or already used
 * ticket: the handshake is refused and the connection never opens.
 */
export async function authorizeConnect(ticket: string | undefined | null, deps: { tickets: TicketStore }): Promise<{ userId: string } | null> {
  if (!ticket) return null;
  return deps.tickets.consume(ticket);
}
