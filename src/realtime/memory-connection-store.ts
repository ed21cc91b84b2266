import type { Clock } from '../ports/clock';
import type { Connection, ConnectionStore } from './connection-store';

/** Local mode and tests: connections in memory, expired ones never listed. */
export class InMemoryConnectionStore implements ConnectionStore {
  private readonly connections = new Map<string, Connection>();

  constructor(private readonly clock: Clock) {}

  async put(connection: Connection): Promise<void> {
    this.connections.set(connection.connectionId, { ...connection });
  }

  async delete(connectionId: string): Promise<void> {
    this.connections.delete(connectionId);
  }

  async listByUser(userId: string): Promise<string[]> {
    const now = this.clock.now().getTime();
    const ids: string[] = [];
    for (const connection of this.connections.values()) {
      if (connection.expiresAt.getTime() <= now) this.connections.delete(connection.connectionId);
      else if (connection.userId === userId) ids.push(connection.connectionId);
    }
    return ids;
  }
}
