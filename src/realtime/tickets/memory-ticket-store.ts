import type { Clock } from '../../ports/clock';
import { isWellFormedTicket, mintTicket, ticketHash, type IssuedTicket, type TicketRecord, type TicketStore } from './ticket-store';

/**
 * Local mode: tickets in memory (a restart ends every pending handshake, which is harmless, as
 * tickets live 60 seconds). The same rules as DynamoDB: hashed, single use, expiry checked at use;
 * expired entries are dropped as new ones are issued.
 */
export class InMemoryTicketStore implements TicketStore {
  private readonly tickets = new Map<string, TicketRecord>();

  constructor(private readonly clock: Clock) {}

  async issue(userId: string): Promise<IssuedTicket> {
    const now = this.clock.now();
    this.dropExpired(now);
    const { issued, record } = mintTicket(userId, now);
    this.tickets.set(record.ticketHash, record);
    return issued;
  }

  async consume(ticket: string): Promise<{ userId: string } | null> {
    if (!isWellFormedTicket(ticket)) return null;
    const hash = ticketHash(ticket);
    const record = this.tickets.get(hash);
    // Deleted whether or not it is still valid: a ticket is looked at once.
    this.tickets.delete(hash);
    if (!record || record.expiresAt.getTime() <= this.clock.now().getTime()) return null;
    return { userId: record.userId };
  }

  /** How many tickets are held (tests). */
  get size(): number {
    return this.tickets.size;
  }

  private dropExpired(now: Date): void {
    for (const [hash, record] of this.tickets) if (record.expiresAt.getTime() <= now.getTime()) this.tickets.delete(hash);
  }
}
