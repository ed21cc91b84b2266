import { openTestServerDatabase, serverAvailability } from '../support/test-databases';
import { registerRepositorySuite } from './repository-suite';

// Throws under CI=true when no server was prepared: a missing server must fail CI, not skip.
const server = serverAvailability();

if ('skip' in server) {
  process.stderr.write(`[untxt tests] repositories on PostgreSQL server: SKIPPED (${server.skip})\n`);
  describe.skip(`repositories on PostgreSQL server — skipped: ${server.skip}`, () => {
    it('needs TEST_DATABASE_URL or installed PostgreSQL server binaries', () => undefined);
  });
} else {
  registerRepositorySuite({
    title: `repositories on PostgreSQL server ${server.version}`,
    open: () => openTestServerDatabase(server.url),
    server: { adminUrl: server.url },
  });
}
