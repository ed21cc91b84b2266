import { newOpaqueToken, tokenHash } from '../../auth/opaque-token';

/**
 * WebSocket tickets (DESIGN "Events and notifications"). A browser cannot set an Authorization
 * header on a WebSocket handshake, so the API hands out a ticket to put in the URL instead: 256
 * random bits, valid for 60 seconds, usable once. Only its SHA-256 is stored, so a leaked table
 * (or a log of it) opens nothing; the handshake uses a ticket up with a conditional delete, so a
 * replayed URL (browser history, a proxy log) is refused.
 */
export const TICKET_TTL_SECONDS = 60;

export interface IssuedTicket {
  /** The secret: goes to the client once, never stored or logged. */
  ticket: string;
  expiresAt: Date;
}

export interface TicketStore {
  issue(userId: string): Promise<IssuedTicket>;
  /** The user a ticket was issued to, exactly once; null when unknown, expired or already used. */
  consume(ticket: string): Promise<{ userId: string } | null>;
}

/** A fresh ticket and the record to store for it. */
export function mintTicket(userId: string, now: Date): { issued: IssuedTicket; record: TicketRecord } {
  const ticket = newOpaqueToken();
  const expiresAt = new Date(now.getTime() + TICKET_TTL_SECONDS * 1000);
  return { issued: { ticket, expiresAt }, record: { ticketHash: tokenHash(ticket), userId, expiresAt } };
}

export interface TicketRecord {
  ticketHash: string;
  userId: string;
  expiresAt: Date;
}

/** Tickets are 43 base64url characters; anything else is refused before any lookup. */
export function isWellFormedTicket(ticket: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(ticket);
}

export { tokenHash as ticketHash };
